/** Starts any role in this process (monolith, gateway, product, …) with test settings, and a logger that remembers. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { type Principal, signToken } from '../../src/edge/http/auth.ts';
import { loadConfig } from '../../src/bootstrap/config.ts';
import { type RunningRole, startRole } from '../../src/bootstrap/roles.ts';
import { jwtSettings } from '../../src/bootstrap/signing-key.ts';
import type { Logger } from '../../src/shared/logger.port.ts';
import { listen, type TestServer } from './product-service.ts';

export const TEST_JWT_SECRET = 'role-tests-signing-key-of-enough-length-0123456789';

export interface LogLine {
  level: 'info' | 'http' | 'warn' | 'error' | 'debug';
  message: string;
  meta: Record<string, unknown> | undefined;
}

/** A logger that keeps every line, for assertions on what was (and was not) logged. */
export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (message: string, meta?: Record<string, unknown>): void =>
      void lines.push({ level, message, meta });
  return { lines, info: at('info'), http: at('http'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

export interface TestRole {
  running: RunningRole;
  url: string;
  dataDir: string;
  logger: ReturnType<typeof recordingLogger>;
  token(principal: Principal, ttlSeconds?: number): string;
  /** Stops the role; a data dir the harness made is deleted, one the caller gave is kept (restart tests). */
  stop(): Promise<void>;
  /** The same as stop(), for suites that read better with it. */
  dispose(): Promise<void>;
}

export interface TestRoleOptions {
  /** Start on this data dir (and keep it); default: a new temporary one. */
  dataDir?: string;
  /** `development`: no configured key, the one kept in the data dir (as `npm start` does); default: a shared test key. */
  signingKey?: 'shared' | 'development';
}

/**
 * Starts a role in this process with test settings: `settings` are flag values; the role gets a free port,
 * SQLite in its data dir, the in-process bus, and a logger that remembers.
 */
export async function startTestRole(
  settings: Record<string, unknown>,
  options: TestRoleOptions = {},
): Promise<TestRole> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'hexashop-role-'));
  const key = options.signingKey === 'development' ? {} : { jwtSecret: TEST_JWT_SECRET };
  const config = loadConfig({
    flags: { port: 0, dataDir, storage: 'sqlite', bus: 'in-process', logLevel: 'error', ...key, ...settings },
    env: {},
  });
  const logger = recordingLogger();
  const running = await startRole(config, logger);
  const jwt = jwtSettings(config, {});
  const stop = async () => {
    await running.stop();
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  return {
    running,
    url: running.url,
    dataDir,
    logger,
    token: (principal, ttl = 3600) => signToken(jwt, principal, ttl),
    stop,
    dispose: stop,
  };
}

/** A unique Redis key prefix, so suites sharing one Redis server never see each other's counts. */
export const uniqueRedisPrefix = () => `hexashop-test-${randomUUID().slice(0, 8)}:`;

export interface StubService extends TestServer {
  /** Requests that reached it. */
  hits: number;
  /** The last request it received. */
  last: { method: string; url: string; headers: Record<string, unknown> } | undefined;
}

/** A service instance behind the gateway that answers every API request with 200 (201 for POST) and counts them. */
export async function startStubService(): Promise<StubService> {
  const state: Pick<StubService, 'hits' | 'last'> = { hits: 0, last: undefined };
  const app = express();
  app.disable('x-powered-by');
  // The gateway's health checks are not requests it forwarded.
  app.get('/health/{*rest}', (_req, res) => void res.json({ status: 'ok' }));
  app.use(async (req, res) => {
    for await (const _chunk of req); // drain the body
    state.hits += 1;
    state.last = { method: req.method, url: req.originalUrl, headers: req.headers };
    // ?delayMs=N: a slow instance.
    const delay = Number(new URL(req.originalUrl, 'http://stub').searchParams.get('delayMs') ?? 0);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (res.destroyed) return;
    res.status(req.method === 'POST' ? 201 : 200).json({ ok: true });
  });
  const server = await listen(app);
  return {
    ...server,
    get hits() {
      return state.hits;
    },
    get last() {
      return state.last;
    },
  };
}
