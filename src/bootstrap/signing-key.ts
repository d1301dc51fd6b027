import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JwksUrlKeySet } from '../adapters/auth/jwks-url-key-set.ts';
import {
  CombinedKeySet,
  type KeySet,
  parseJwks,
  type SigningKey,
  signingKeyFromPem,
  StaticKeySet,
  verificationKeyOf,
} from '../adapters/auth/keys.ts';
import type { JwtSettings } from '../edge/http/auth.ts';
import { type Logger, silentLogger } from '../shared/logger.port.ts';
import type { Config } from './config.schema.ts';
import { ConfigError } from './config.ts';

const KEY_FILE = 'jwt-signing-key';

type KeyConfig = Pick<
  Config,
  | 'jwtSecret'
  | 'jwtIssuer'
  | 'jwtAudience'
  | 'dataDir'
  | 'jwtPrivateKeyFile'
  | 'jwtKeyId'
  | 'jwtPublicKeysFile'
  | 'jwksUrl'
  | 'serviceKeyFile'
  | 'servicePublicKeysFile'
> &
  Partial<Pick<Config, 'role'>>;

/**
 * The JWT keys of this process.
 * - Asymmetric, when any key file or JWKS URL is configured: user tokens are verified with the public keys
 *   of --jwt-public-keys-file and/or --jwks-url (else the issuer's own, from --jwt-private-key-file), service
 *   tokens with --service-public-keys-file; --jwt-private-key-file and --service-key-file sign. The shared
 *   secret then verifies nothing.
 * - HS256 otherwise: the configured secret, or in development one made once and kept in the data dir
 *   (shared by every role started from one checkout), so tokens survive restarts. In production a missing
 *   key is a configuration error: fail closed.
 */
export function jwtSettings(
  config: KeyConfig,
  env: NodeJS.ProcessEnv = process.env,
  logger: Logger = silentLogger,
): JwtSettings {
  const base = { issuer: config.jwtIssuer, audience: config.jwtAudience };
  const problems: string[] = [];
  const signer = privateKey(config.jwtPrivateKeyFile, config.jwtKeyId, '--jwt-private-key-file', problems);
  const serviceSigner = privateKey(config.serviceKeyFile, undefined, '--service-key-file', problems);
  const userSets: KeySet[] = [];
  const fileSet = publicKeys(config.jwtPublicKeysFile, '--jwt-public-keys-file', problems);
  if (fileSet) userSets.push(fileSet);
  if (config.jwksUrl) userSets.push(new JwksUrlKeySet({ url: config.jwksUrl, logger }));
  if (userSets.length === 0 && signer) userSets.push(new StaticKeySet([verificationKeyOf(signer.publicJwk)]));
  const serviceKeys = publicKeys(config.servicePublicKeysFile, '--service-public-keys-file', problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const asymmetric = userSets.length > 0 || serviceKeys !== undefined || serviceSigner !== undefined;
  if (asymmetric) {
    if (config.role === 'order' && !serviceSigner) {
      // Its calls to the product service's internal API need a service token, and the shared secret is out.
      throw new ConfigError(['invalid setting --service-key-file: the order role needs it with asymmetric keys']);
    }
    return {
      ...base,
      signer,
      serviceSigner,
      // No user key set (a role holding only service keys): every user token is refused, never HS256.
      userKeys: userSets.length <= 1 ? (userSets[0] ?? new StaticKeySet([])) : new CombinedKeySet(userSets),
      serviceKeys,
    };
  }
  if (config.jwtSecret) return { ...base, secret: config.jwtSecret };
  if (env.NODE_ENV === 'production') {
    throw new ConfigError([
      'invalid setting --jwt-secret (HEXASHOP_JWT_SECRET): required when NODE_ENV=production (or configure public keys)',
    ]);
  }
  return { ...base, secret: developmentKey(config.dataDir) };
}

function privateKey(path: string | undefined, kid: string | undefined, flag: string, problems: string[]) {
  if (path === undefined) return undefined;
  try {
    return signingKeyFromPem(readFileSync(path, 'utf8'), kid) satisfies SigningKey;
  } catch (error) {
    problems.push(`invalid setting ${flag}: ${(error as Error).message}`);
    return undefined;
  }
}

function publicKeys(path: string | undefined, flag: string, problems: string[]) {
  if (path === undefined) return undefined;
  try {
    const { keys } = parseJwks(readFileSync(path, 'utf8'), true);
    if (keys.size === 0) throw new Error('the key set is empty');
    return new StaticKeySet(keys.values());
  } catch (error) {
    problems.push(`invalid setting ${flag}: ${(error as Error).message}`);
    return undefined;
  }
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
