import { type InstanceOptions, type InstanceSnapshot, UpstreamInstance } from './upstream-instance.ts';

/**
 * The instances of one upstream service and how the gateway picks among them: round-robin over the
 * instances that are available now (see UpstreamInstance for what takes one out), so an instance that is
 * out is skipped without a request being spent on it, and one that comes back is picked again.
 * The set can be replaced while requests run (see replace): a request keeps the instance it picked.
 */
export interface PoolChange {
  added: string[];
  removed: string[];
  kept: string[];
}

export class UpstreamPool {
  readonly service: string;
  #instances: readonly UpstreamInstance[];
  readonly #options: InstanceOptions;
  #checking = false;
  #cursor = 0;

  constructor(service: string, urls: readonly string[], options: InstanceOptions) {
    if (urls.length === 0) throw new Error(`no upstream instance configured for ${service}`);
    this.service = service;
    this.#options = options;
    this.#instances = urls.map((url) => new UpstreamInstance(service, url, options));
  }

  get instances(): readonly UpstreamInstance[] {
    return this.#instances;
  }

  /** The next available instance in round-robin order, other than `exclude`; undefined when there is none. */
  pick(exclude?: UpstreamInstance): UpstreamInstance | undefined {
    const instances = this.#instances;
    const count = instances.length;
    for (let step = 0; step < count; step++) {
      const index = (this.#cursor + step) % count;
      const instance = instances[index]!;
      if (instance !== exclude && instance.available) {
        this.#cursor = (index + 1) % count;
        return instance;
      }
    }
    return undefined;
  }

  /** Whole seconds until some instance may be available again (for Retry-After); at least 1. */
  retryAfterSeconds(): number {
    const ms = Math.min(...this.#instances.map((i) => i.availableInMs));
    return Math.max(1, Math.ceil(ms / 1000));
  }

  startHealthChecks(): void {
    this.#checking = true;
    for (const instance of this.#instances) instance.startHealthChecks();
  }

  /**
   * Swaps the set of instances in one step: new requests pick among `urls` at once; an instance whose URL
   * stays is kept as it is (its health, breaker, ejection and counts); the ones dropped finish the requests
   * they have in flight and are then closed (the returned promise settles then).
   */
  replace(urls: readonly string[]): { change: PoolChange; drained: Promise<void> } {
    if (urls.length === 0) throw new Error(`no upstream instance configured for ${this.service}`);
    const current = new Map(this.#instances.map((i) => [i.url, i]));
    const wanted = [...new Set(urls)];
    const next = wanted.map((url) => current.get(url) ?? new UpstreamInstance(this.service, url, this.#options));
    const dropped = this.#instances.filter((i) => !wanted.includes(i.url));
    this.#instances = next;
    this.#cursor = 0;
    if (this.#checking) for (const instance of next.filter((i) => !current.has(i.url))) instance.startHealthChecks();
    return {
      change: {
        added: wanted.filter((url) => !current.has(url)),
        removed: dropped.map((i) => i.url),
        kept: wanted.filter((url) => current.has(url)),
      },
      drained: Promise.all(dropped.map((i) => i.close())).then(() => undefined),
    };
  }

  snapshot(): InstanceSnapshot[] {
    return this.#instances.map((i) => i.snapshot());
  }

  /** Stops the health checks, lets requests in flight finish, then closes every connection. */
  async close(): Promise<void> {
    this.#checking = false;
    await Promise.all(this.#instances.map((i) => i.close()));
  }
}
