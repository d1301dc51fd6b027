import type { Cache } from '../../shared/cache.port.ts';

/** How long a value read from the far tier may live in the near one (the near tier caps it at its own maximum). */
const NEAR_FILL_TTL_SECONDS = 60;

/**
 * Two caches as one: a near tier in this process (a MemoryCache with a short maximum TTL) in front of a far
 * tier every instance shares (Redis). A read tries the near tier, then the far one, and keeps what the far one
 * had in the near one; a write and a delete go to both. The near tier's TTL bounds how long this instance
 * may serve an entry another instance has deleted from the far tier before the event saying so reaches it.
 */
export class TieredCache implements Cache {
  readonly #near: Cache;
  readonly #far: Cache;

  constructor(near: Cache, far: Cache) {
    this.#near = near;
    this.#far = far;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const text = await this.getText(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  async set<T>(key: string, value: T, ttlSeconds: number): Promise<void> {
    await this.setText(key, JSON.stringify(value), ttlSeconds);
  }

  async getText(key: string): Promise<string | undefined> {
    const near = await this.#near.getText(key);
    if (near !== undefined) return near;
    const far = await this.#far.getText(key);
    if (far !== undefined) await this.#near.setText(key, far, NEAR_FILL_TTL_SECONDS);
    return far;
  }

  /** Both tiers are written before the first await, so a delete that follows cannot be overtaken by this write. */
  async setText(key: string, text: string, ttlSeconds: number): Promise<void> {
    await Promise.all([this.#near.setText(key, text, ttlSeconds), this.#far.setText(key, text, ttlSeconds)]);
  }

  async delete(key: string): Promise<void> {
    await Promise.all([this.#near.delete(key), this.#far.delete(key)]);
  }
}
