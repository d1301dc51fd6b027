import type { Redis } from 'ioredis';
import type { Cache } from '../../../shared/cache.port.ts';
import type { Logger } from '../../../shared/logger.port.ts';

/**
 * A cache shared by every instance of a service. It is only ever an optimisation: when Redis is down a
 * read is a miss and a write is skipped, so the service keeps answering from its database.
 * Deletes that fail are the one thing that matters (a stale entry could outlive a change), which is why
 * entries also carry a short TTL.
 */
export class RedisCache implements Cache {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #logger: Logger;

  constructor(redis: Redis, logger: Logger, prefix = 'hexashop:cache:') {
    this.#redis = redis;
    this.#logger = logger;
    this.#prefix = prefix;
  }

  async get<T>(key: string): Promise<T | undefined> {
    try {
      const text = await this.getText(key);
      return text === undefined ? undefined : (JSON.parse(text) as T);
    } catch {
      return undefined;
    }
  }

  async set<T>(key: string, value: T, ttlSeconds: number): Promise<void> {
    let text: string;
    try {
      text = JSON.stringify(value);
    } catch {
      return; // what cannot be cached is a miss next time, nothing worse
    }
    await this.setText(key, text, ttlSeconds);
  }

  async getText(key: string): Promise<string | undefined> {
    try {
      return (await this.#redis.get(this.#prefix + key)) ?? undefined;
    } catch {
      return undefined;
    }
  }

  async setText(key: string, text: string, ttlSeconds: number): Promise<void> {
    try {
      await this.#redis.set(this.#prefix + key, text, 'EX', ttlSeconds);
    } catch {
      // a cache that cannot be written is a cache miss next time, nothing worse
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#redis.del(this.#prefix + key);
    } catch (error) {
      this.#logger.warn('cache entry could not be invalidated; it expires with its TTL', {
        code: 'CACHE_INVALIDATION_FAILED',
        key,
        error: String(error),
      });
    }
  }
}
