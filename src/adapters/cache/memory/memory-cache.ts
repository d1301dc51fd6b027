import { LRUCache } from 'lru-cache';
import type { Cache } from '../../../shared/cache.port.ts';

export interface MemoryCacheOptions {
  /** Entries kept at most; the least recently used go first. */
  maxEntries?: number;
  /** An entry lives at most this long whatever TTL it was set with (the near tier in front of Redis: short). */
  maxTtlMs?: number;
}

/**
 * A bounded in-process cache (lru-cache) with per-entry expiry. Alone it is the cache of a process without
 * Redis; in front of Redis it is the near tier of a TieredCache, with a short maximum TTL.
 */
export class MemoryCache implements Cache {
  readonly #entries: LRUCache<string, string>;
  readonly #maxTtlMs: number;

  constructor({ maxEntries = 10_000, maxTtlMs = Number.POSITIVE_INFINITY }: MemoryCacheOptions = {}) {
    this.#entries = new LRUCache({ max: maxEntries });
    this.#maxTtlMs = maxTtlMs;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const text = this.#entries.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  async set<T>(key: string, value: T, ttlSeconds: number): Promise<void> {
    // Stored serialised, so callers can never mutate a cached value and both adapters return equal copies.
    this.#write(key, JSON.stringify(value), ttlSeconds);
  }

  async getText(key: string): Promise<string | undefined> {
    return this.#entries.get(key);
  }

  async setText(key: string, text: string, ttlSeconds: number): Promise<void> {
    this.#write(key, text, ttlSeconds);
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  #write(key: string, text: string, ttlSeconds: number): void {
    this.#entries.set(key, text, { ttl: Math.max(1, Math.min(ttlSeconds * 1000, this.#maxTtlMs)) });
  }
}
