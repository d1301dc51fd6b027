import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, MemoryStore, rateLimit, type Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { Logger } from '../../shared/logger.port.ts';
import { API_KEY_PRINCIPAL } from './auth.ts';
import { FailOpenStore } from './fail-open-store.ts';
import { sendProblem } from './problem.ts';

/**
 * Per-client rate limits on the public API, in two separate budgets: reads (GET, HEAD, OPTIONS) and writes
 * (every other method, with the stricter limit). A client is its API key or user when the request carries
 * valid credentials, else its IP address (IPv6 grouped by /64, since one host usually owns a whole /64).
 * `trust proxy` decides what the IP is, so a forged X-Forwarded-For only counts when a trusted proxy wrote it.
 *
 * Counts live in Redis when one is configured, so every gateway instance shares them, with a local
 * fallback while Redis is down (see FailOpenStore); in memory otherwise.
 *
 * Headers: `RateLimit` and `RateLimit-Policy` of draft-ietf-httpapi-ratelimit-headers-08 (policies named
 * "read" and "write"), plus the `RateLimit-Limit`, `-Remaining` and `-Reset` fields most clients still read
 * (draft 6); a 429 adds `Retry-After`.
 */
export interface RateLimitOptions {
  /** Requests per client per window. */
  read: number;
  write: number;
  /** Default one minute. */
  windowMs?: number;
  /** The shared Redis connection, or null to count in memory. */
  redis: Redis | null;
  /** Prepended to every Redis key, e.g. "hexashop:rl:". */
  keyPrefix: string;
  logger: Logger;
  /** While Redis is down, how often to check whether it is back. Default 1 s. */
  retryMs?: number;
}

export interface RateLimits {
  /** Mount after authentication (they key on the principal), before the routes. */
  guards: RequestHandler[];
  /** The stores, for tests and readiness: whether each counts locally because Redis failed. */
  stores: Store[];
  close(): Promise<void>;
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
const isWrite = (req: Request) => !READS.has(req.method);

/** Whose budget a request spends: `key:<id>`, `user:<sub>` or `ip:<address or IPv6 /64>`. */
export function rateLimitKey(req: Request): string {
  const principal = req.principal;
  if (principal) {
    return principal.id.startsWith(API_KEY_PRINCIPAL)
      ? `key:${principal.id.slice(API_KEY_PRINCIPAL.length)}`
      : `user:${principal.id}`;
  }
  return `ip:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown', 64)}`;
}

export function createRateLimits(options: RateLimitOptions): RateLimits {
  const windowMs = options.windowMs ?? 60_000;
  const storeFor = (kind: string): Store => {
    if (!options.redis) return new MemoryStore();
    const redis = options.redis;
    const shared = new RedisStore({
      prefix: `${options.keyPrefix}${kind}:`,
      sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
    });
    return new FailOpenStore(shared, options.logger, options.retryMs);
  };
  const limiter = (kind: 'read' | 'write', limit: number, store: Store) =>
    rateLimit({
      windowMs,
      limit,
      store,
      identifier: kind,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      keyGenerator: rateLimitKey,
      skip: (req) => isWrite(req) !== (kind === 'write'),
      retryAfter: (req) => secondsToReset(req, windowMs),
      handler: (req, res) => {
        compatibleHeaders(req, res, windowMs);
        const detail = `more than ${limit} ${kind} requests per ${windowMs / 1000} s; retry after ${res.get('Retry-After')} s`;
        sendProblem(res, 429, 'RATE_LIMITED', detail);
      },
      // The forged-header checks are what `trust proxy` is for; the library's own would only log noise.
      validate: { xForwardedForHeader: false, forwardedHeader: false },
      logger: {
        warn: (error, message) => options.logger.warn(message ?? 'rate limiter', { error: String(error) }),
        error: (error, message) => options.logger.error(message ?? 'rate limiter', { error: String(error) }),
      },
    });
  const stores = [storeFor('read'), storeFor('write')] as const;
  const headers: RequestHandler = (req, res, next) => {
    compatibleHeaders(req, res, windowMs);
    next();
  };
  return {
    guards: [limiter('read', options.read, stores[0]), limiter('write', options.write, stores[1]), headers],
    stores: [...stores],
    close: async () => {
      await Promise.all(stores.map((s) => s.shutdown?.()));
    },
  };
}

interface RateLimitInfo {
  limit: number;
  remaining: number;
  resetTime: Date | undefined;
}

const infoOf = (req: Request) => (req as Request & { rateLimit?: RateLimitInfo }).rateLimit;

/** At least one second: a reset due within the current second would otherwise read as "retry now". */
function secondsToReset(req: Request, windowMs: number): number {
  const reset = infoOf(req)?.resetTime;
  const ms = reset ? reset.getTime() - Date.now() : windowMs;
  return Math.max(1, Math.ceil(ms / 1000));
}

function compatibleHeaders(req: Request, res: Response, windowMs: number): void {
  const info = infoOf(req);
  if (!info || res.headersSent) return;
  res.set({
    'RateLimit-Limit': String(info.limit),
    'RateLimit-Remaining': String(info.remaining),
    'RateLimit-Reset': String(secondsToReset(req, windowMs)),
  });
}
