import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import proxyAddr from 'proxy-addr';
import { ipKeyGenerator, MemoryStore, rateLimit, type Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.port.ts';
import type { Step } from '../pipeline.ts';
import { API_KEY_PRINCIPAL } from './auth.ts';
import { sendProblem } from './problem.ts';
import { RedisSyncedStore } from './redis-synced-store.ts';

/**
 * Per-client rate limits on the public API, in two separate budgets: reads (GET, HEAD, OPTIONS) and writes
 * (every other method, with the stricter limit). A client is its API key or user when the request carries
 * valid credentials, else its IP address (IPv6 grouped by /64, since one host usually owns a whole /64).
 * `trust proxy` decides what the IP is, so a forged X-Forwarded-For only counts when a trusted proxy wrote it.
 *
 * Counts live in Redis when one is configured, so every gateway instance shares them: counted locally and
 * synced in batches, asking Redis on a request's path only from half the limit on, with a local fallback while
 * Redis is down (see RedisSyncedStore); in memory otherwise.
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
  /** Reverse proxies in front whose X-Forwarded-For entries are believed (as Express's `trust proxy`). Default 0. */
  trustProxyHops?: number;
  /** Told of every request refused (429), by policy (for metrics). */
  onRefused?: (policy: 'read' | 'write') => void;
}

export interface RateLimits {
  /** The edge step: after the credentials are read (the limits key on the principal), before their verdict. */
  guard: Step;
  /** The stores, for tests and readiness: whether each counts locally because Redis failed. */
  stores: Store[];
  close(): Promise<void>;
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The client's address: the socket's peer, or with `trustProxyHops` n > 0 the address the nth proxy in
 * front of us saw (the nth X-Forwarded-For entry from the right) — exactly Express's `req.ip` with
 * `trust proxy` set to n, so entries a client wrote itself never count.
 */
export function clientAddress(trustProxyHops: number): (req: IncomingMessage) => string {
  const trusted = (_address: string, hop: number) => hop < trustProxyHops;
  return (req) => proxyAddr(req, trusted);
}

/** Whose budget a request spends: `key:<id>`, `user:<sub>` or `ip:<address or IPv6 /64>`. */
export function rateLimitKey(req: IncomingMessage, address: string): string {
  const principal = req.principal;
  if (principal) {
    return principal.id.startsWith(API_KEY_PRINCIPAL)
      ? `key:${principal.id.slice(API_KEY_PRINCIPAL.length)}`
      : `user:${principal.id}`;
  }
  return `ip:${ipKeyGenerator(address, 64)}`;
}

export function createRateLimits(options: RateLimitOptions): RateLimits {
  const windowMs = options.windowMs ?? 60_000;
  const storeFor = (kind: string): Store => {
    if (!options.redis) return new MemoryStore();
    const prefix = `${options.keyPrefix}${kind}:`;
    return new RedisSyncedStore({ redis: options.redis, prefix, logger: options.logger, retryMs: options.retryMs });
  };
  const addressOf = clientAddress(options.trustProxyHops ?? 0);
  const limiter = (kind: 'read' | 'write', limit: number | ((req: IncomingMessage) => number), store: Store) =>
    rateLimit({
      windowMs,
      limit,
      store,
      identifier: kind,
      // The headers are written below (the library's draft-8 writer needs Express's res.append).
      standardHeaders: false,
      legacyHeaders: false,
      keyGenerator: (req) => rateLimitKey(req, addressOf(req)),
      handler: (req, res) => {
        options.onRefused?.(kind);
        rateLimitHeaders(req, res, kind, windowMs);
        const retryAfter = secondsToReset(req, windowMs);
        res.setHeader('Retry-After', String(retryAfter));
        const quota = infoOf(req)?.limit ?? (typeof limit === 'number' ? limit : limit(req));
        const detail = `more than ${quota} ${kind} requests per ${windowMs / 1000} s; retry after ${retryAfter} s`;
        sendProblem(res, 429, 'RATE_LIMITED', detail);
      },
      // The forged-header checks are what `trust proxy` is for; the library's own would only log noise.
      validate: { xForwardedForHeader: false, forwardedHeader: false },
      logger: {
        warn: (error, message) =>
          options.logger.warn(message ?? 'rate limiter', { code: 'RATE_LIMITER_WARNING', error: String(error) }),
        error: (error, message) =>
          options.logger.error(message ?? 'rate limiter', { code: 'RATE_LIMITER_ERROR', error: String(error) }),
      },
    });
  const stores = [storeFor('read'), storeFor('write'), storeFor('key-read'), storeFor('key-write')] as const;
  const reads = limiter('read', options.read, stores[0]);
  const writes = limiter('write', options.write, stores[1]);
  // A managed API key with a rate limit of its own (req.apiKeyRateLimit) counts in separate budgets whose limit
  // is the key's: a limit that is a function costs RedisSyncedStore a Redis round trip per request, which only
  // these keys pay, not every client.
  const ownLimit = (fallback: number) => (req: IncomingMessage) => req.apiKeyRateLimit ?? fallback;
  const keyReads = limiter('read', ownLimit(options.read), stores[2]);
  const keyWrites = limiter('write', ownLimit(options.write), stores[3]);
  // express-rate-limit's middleware is typed for Express, but with our key generator and handler it only
  // touches Node's own request and response API, so it runs as an edge step before any dispatcher.
  const guard: Step = (req, res, next) => {
    const kind = READS.has(req.method!) ? 'read' : 'write';
    const own = req.apiKeyRateLimit !== undefined;
    const limit = kind === 'read' ? (own ? keyReads : reads) : own ? keyWrites : writes;
    void limit(req as Request, res as Response, (error?: unknown) => {
      if (error === undefined) rateLimitHeaders(req, res, kind, windowMs);
      next(error);
    });
  };
  return {
    guard,
    stores: [...stores],
    close: async () => {
      await Promise.all(stores.map((s) => s.shutdown?.()));
    },
  };
}

interface RateLimitInfo {
  key: string;
  limit: number;
  remaining: number;
  resetTime: Date | undefined;
}

const infoOf = (req: IncomingMessage) => (req as IncomingMessage & { rateLimit?: RateLimitInfo }).rateLimit;

/** At least one second: a reset due within the current second would otherwise read as "retry now". */
function secondsToReset(req: IncomingMessage, windowMs: number): number {
  const reset = infoOf(req)?.resetTime;
  const ms = reset ? reset.getTime() - Date.now() : windowMs;
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * `RateLimit` and `RateLimit-Policy` (draft 8: the policy name, what remains, the seconds to the reset, the
 * quota, the window and a partition key that names the client's bucket without revealing it) and the draft 6
 * `RateLimit-Limit`, `-Remaining` and `-Reset` fields.
 */
function rateLimitHeaders(req: IncomingMessage, res: ServerResponse, policy: string, windowMs: number): void {
  const info = infoOf(req);
  if (!info || res.headersSent) return;
  const reset = info.resetTime
    ? Math.max(0, Math.ceil((info.resetTime.getTime() - Date.now()) / 1000))
    : windowMs / 1000;
  res.setHeader('RateLimit', `"${policy}"; r=${info.remaining}; t=${reset}`);
  res.setHeader(
    'RateLimit-Policy',
    `"${policy}"; q=${info.limit}; w=${Math.ceil(windowMs / 1000)}; pk=:${partitionKey(info.key)}:`,
  );
  res.setHeader('RateLimit-Limit', String(info.limit));
  res.setHeader('RateLimit-Remaining', String(info.remaining));
  res.setHeader('RateLimit-Reset', String(secondsToReset(req, windowMs)));
}

const partitionKeys = new Map<string, string>();

/** The start of the key's SHA-256, as express-rate-limit's draft-8 writer makes it; remembered per key. */
function partitionKey(key: string): string {
  let value = partitionKeys.get(key);
  if (value === undefined) {
    if (partitionKeys.size >= 10_000) partitionKeys.clear();
    value = Buffer.from(createHash('sha256').update(key).digest('hex').slice(0, 12)).toString('base64');
    partitionKeys.set(key, value);
  }
  return value;
}
