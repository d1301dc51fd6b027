import { Redis } from 'ioredis';
import type { Logger } from '../../../shared/logger.port.ts';
import { within } from '../../../shared/within.ts';

/**
 * One Redis connection per process, shared by the cache and the rate limiter. Commands fail fast while
 * Redis is down (no offline queue), so callers can fall back instead of waiting; it reconnects by itself.
 */
export async function connectRedis(url: string, logger: Logger, waitMs = 2_000): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    // Concurrent commands (rate-limit counters of many requests) share round trips.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) logger.warn('redis unavailable', { code: 'REDIS_UNAVAILABLE', error: error.message });
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('redis available again');
    down = false;
  });
  // Give it a moment to connect, but start without it: everything that uses Redis has a fallback.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return redis;
}

/**
 * For readiness: null when Redis answers within `waitMs`, else why not. Bounded well below the gateway's
 * health-check timeout, so a Redis that hangs makes the process degraded, not unready.
 */
export async function redisProblem(redis: Redis, waitMs = 300): Promise<string | null> {
  if (redis.status !== 'ready') return `redis: connection ${redis.status}`;
  try {
    const answered = await within(redis.ping(), waitMs);
    return answered === undefined ? `redis: no answer within ${waitMs} ms` : null;
  } catch (error) {
    return `redis: ${(error as Error).message}`;
  }
}
