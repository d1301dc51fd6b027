import { type InstanceOptions, type InstanceSnapshot, UpstreamInstance } from './upstream-instance.ts';

/**
 * The instances of one upstream service and how the gateway picks among them: round-robin over the
 * instances that are available now (see UpstreamInstance for what takes one out), so an instance that is
 * out is skipped without a request being spent on it, and one that comes back is picked again.
 */
export class UpstreamPool {
  readonly service: string;
  readonly instances: readonly UpstreamInstance[];
  #cursor = 0;

  constructor(service: string, urls: readonly string[], options: InstanceOptions) {
    if (urls.length === 0) throw new Error(`no upstream instance configured for ${service}`);
    this.service = service;
    this.instances = urls.map((url) => new UpstreamInstance(service, url, options));
  }

  /** The next available instance in round-robin order, other than `exclude`; undefined when there is none. */
  pick(exclude?: UpstreamInstance): UpstreamInstance | undefined {
    const { instances } = this;
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
    const ms = Math.min(...this.instances.map((i) => i.availableInMs));
    return Math.max(1, Math.ceil(ms / 1000));
  }

  startHealthChecks(): void {
    for (const instance of this.instances) instance.startHealthChecks();
  }

  snapshot(): InstanceSnapshot[] {
    return this.instances.map((i) => i.snapshot());
  }

  /** Stops the health checks, lets requests in flight finish, then closes every connection. */
  async close(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.close()));
  }
}
