import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JwtSettings } from '../edge/http/auth.ts';
import type { Config } from './config.schema.ts';
import { ConfigError } from './config.ts';

const KEY_FILE = 'jwt-signing-key';

/**
 * The JWT signing key. Configured, it is used as is. In development, with none configured, one is made
 * once and kept in the data dir (shared by every role started from one checkout), so tokens survive
 * restarts. In production a missing key is a configuration error: fail closed.
 */
export function jwtSettings(config: Config, env: NodeJS.ProcessEnv = process.env): JwtSettings {
  const base = { issuer: config.jwtIssuer, audience: config.jwtAudience };
  if (config.jwtSecret) return { ...base, secret: config.jwtSecret };
  if (env.NODE_ENV === 'production') {
    throw new ConfigError(['invalid setting --jwt-secret (HEXASHOP_JWT_SECRET): required when NODE_ENV=production']);
  }
  return { ...base, secret: developmentKey(config.dataDir) };
}

function developmentKey(dataDir: string): string {
  const path = join(dataDir, KEY_FILE);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const key = randomBytes(48).toString('base64url');
    try {
      // 'wx': if another role created it a moment ago, keep theirs.
      writeFileSync(path, key, { mode: 0o600, flag: 'wx' });
      return key;
    } catch {
      return readFileSync(path, 'utf8').trim();
    }
  }
}
