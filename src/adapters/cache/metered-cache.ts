import type { Cache } from '../../shared/cache.port.ts';

/** Any cache, with every look-up reported as a hit or a miss (for the cache_requests_total counter). */
export class MeteredCache implements Cache {
  readonly #inner: Cache;
  readonly #lookedUp: (hit: boolean) => void;

  constructor(inner: Cache, lookedUp: (hit: boolean) => void) {
    this.#inner = inner;
    this.#lookedUp = lookedUp;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const value = await this.#inner.get<T>(key);
    this.#lookedUp(value !== undefined);
    return value;
  }

  async getText(key: string): Promise<string | undefined> {
    const text = await this.#inner.getText(key);
    this.#lookedUp(text !== undefined);
    return text;
  }

  set<T>(key: string, value: T, ttlSeconds: number): Promise<void> {
    return this.#inner.set(key, value, ttlSeconds);
  }

  setText(key: string, text: string, ttlSeconds: number): Promise<void> {
    return this.#inner.setText(key, text, ttlSeconds);
  }

  delete(key: string): Promise<void> {
    return this.#inner.delete(key);
  }
}
