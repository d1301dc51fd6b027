import type { Cache } from '../../../shared/cache.port.ts';

/** A bounded in-process cache with per-entry expiry; the oldest entries go first when it is full. */
export class MemoryCache implements Cache {
  readonly #entries = new Map<string, { json: string; expiresAt: number }>();
  readonly #maxEntries: number;

  constructor(maxEntries = 10_000) {
    this.#maxEntries = maxEntries;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return JSON.parse(entry.json) as T;
  }

  async set<T>(key: string, value: T, ttlSeconds: number): Promise<void> {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    // Stored serialised, so callers can never mutate a cached value and both adapters return equal copies.
    this.#entries.set(key, { json: JSON.stringify(value), expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
  }
}
