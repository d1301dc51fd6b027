import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Principal, signToken } from '../../src/edge/http/auth.ts';
import { loadConfig } from '../../src/bootstrap/config.ts';
import { createLogger } from '../../src/adapters/logging/winston-logger.ts';
import { type RunningRole, startRole } from '../../src/bootstrap/roles.ts';
import { jwtSettings } from '../../src/bootstrap/signing-key.ts';

export interface TestPlatform {
  running: RunningRole;
  url: string;
  dataDir: string;
  token(principal: Principal, ttlSeconds?: number): string;
  /** Stops the process; the data dir stays, for restart tests. */
  stop(): Promise<void>;
  /** Stops and deletes the data dir. */
  dispose(): Promise<void>;
}

/**
 * Starts the real monolith (SQLite files, in-process bus, HTTP on a free port) in this process.
 * `settings` are flag values, e.g. { mode: 'async' }.
 */
export async function startMonolith(settings: Record<string, unknown> = {}, dataDir?: string): Promise<TestPlatform> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'hexashop-test-'));
  const config = loadConfig({
    flags: { role: 'monolith', port: 0, dataDir: dir, logLevel: 'error', ...settings },
    env: {},
  });
  const running = await startRole(config, createLogger(config.logLevel, config.role));
  const jwt = jwtSettings(config, {});
  return {
    running,
    url: running.url,
    dataDir: dir,
    token: (principal, ttl = 3600) => signToken(jwt, principal, ttl),
    stop: () => running.stop(),
    dispose: async () => {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
