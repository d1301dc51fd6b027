import { type ClientRateLimitInfo, MemoryStore, type Options, type Store } from 'express-rate-limit';
import type { Logger } from '../../shared/logger.port.ts';

/**
 * A rate-limit store that counts in a shared store (Redis) while it answers and in this process's memory
 * while it does not.
 *
 * Why fail open: the limits protect the shop from floods, but Redis being down is our fault, not the
 * client's, and refusing every request (fail closed) would turn a cache outage into a full outage. Letting
 * everything through unlimited would remove the protection exactly when the system is weakest, so the
 * fallback is a local limiter with the same limits: each instance limits on its own until Redis is back
 * (with N gateway instances a client may get up to N times its budget meanwhile). The switch is logged once
 * each way; while degraded, Redis is probed in the background at most every `retryMs`, never on a request's
 * path, and the counts restart from what Redis still holds once it answers again.
 */
export class FailOpenStore implements Store {
  readonly localKeys = false;
  readonly prefix: string | undefined;
  readonly #shared: Store;
  readonly #local = new MemoryStore();
  readonly #logger: Logger;
  readonly #retryMs: number;
  #options: Options | undefined;
  /** When the shared store failed, the time to try it again; null while it works. */
  #retryAt: number | null = null;
  #probing = false;

  constructor(shared: Store, logger: Logger, retryMs = 1_000) {
    this.#shared = shared;
    this.prefix = shared.prefix;
    this.#logger = logger;
    this.#retryMs = retryMs;
  }

  /** True while requests are counted locally because the shared store failed. */
  get degraded(): boolean {
    return this.#retryAt !== null;
  }

  async init(options: Options): Promise<void> {
    this.#options = options;
    this.#local.init(options);
    try {
      await this.#shared.init?.(options);
    } catch (error) {
      this.#degrade(error);
    }
  }

  increment(key: string): Promise<ClientRateLimitInfo> {
    return this.#either(
      () => this.#shared.increment(key),
      () => this.#local.increment(key),
    );
  }

  decrement(key: string): Promise<void> {
    return this.#either(
      () => this.#shared.decrement(key),
      () => this.#local.decrement(key),
    );
  }

  resetKey(key: string): Promise<void> {
    return this.#either(
      () => this.#shared.resetKey(key),
      () => this.#local.resetKey(key),
    );
  }

  get(key: string): Promise<ClientRateLimitInfo | undefined> {
    return this.#either(
      async () => this.#shared.get?.(key),
      () => this.#local.get(key),
    );
  }

  async shutdown(): Promise<void> {
    this.#local.shutdown();
    await this.#shared.shutdown?.();
  }

  async #either<T>(shared: () => T | Promise<T>, local: () => Promise<T>): Promise<T> {
    if (this.#retryAt === null) {
      try {
        return await shared();
      } catch (error) {
        this.#degrade(error);
      }
    } else if (Date.now() >= this.#retryAt) {
      void this.#probe();
    }
    return local();
  }

  #degrade(error: unknown): void {
    if (this.#retryAt === null) {
      this.#logger.warn('rate limits: shared store unavailable, limiting per instance until it is back', {
        store: this.prefix,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    this.#retryAt = Date.now() + this.#retryMs;
  }

  /** Re-initialising the shared store (RedisStore reloads its scripts) is the check that it is back. */
  async #probe(): Promise<void> {
    if (this.#probing || !this.#options) return;
    this.#probing = true;
    try {
      await this.#shared.init?.(this.#options);
      this.#retryAt = null;
      this.#logger.info('rate limits: shared store available again', { store: this.prefix });
    } catch {
      this.#retryAt = Date.now() + this.#retryMs;
    } finally {
      this.#probing = false;
    }
  }
}
