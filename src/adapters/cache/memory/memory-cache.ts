import type { Cache } from '../../../shared/cache.port.ts';

/** A bounded in-process cache with per-entry expiry; the oldest entries go first when it is full. */
export class MemoryCache implements Cache {
  readonly #entries = new Map<string, { text: string; expiresAt: number }>();
  readonly #maxEntries: number;

  constructor(maxEntries = 10_000) {
    this.#maxEntries = maxEntries;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const text = this.#read(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  async set<T>(key: string, value: T, ttlSeconds: number): Promise<void> {
    // Stored serialised, so callers can never mutate a cached value and both adapters return equal copies.
    this.#write(key, JSON.stringify(value), ttlSeconds);
  }

  async getText(key: string): Promise<string | undefined> {
    return this.#read(key);
  }

  async setText(key: string, text: string, ttlSeconds: number): Promise<void> {
    this.#write(key, text, ttlSeconds);
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  #read(key: string): string | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.text;
  }

  #write(key: string, text: string, ttlSeconds: number): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { text, expiresAt: Date.now() + ttlSeconds * 1000 });
  }
}
