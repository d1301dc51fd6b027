import { Pool } from 'undici';

/**
 * The instances of one upstream service and how the gateway picks among them. Each instance owns its
 * keep-alive connection pool and its health state; the pool hands out the next available instance in
 * round-robin order. Health is passive for now: a connection that cannot be opened ejects the instance for
 * a cool-down, any answer brings it back. Active health checks, a circuit breaker per instance (opossum) and
 * retries on another instance plug in here: they change an instance's state or ask `next()` again.
 */
export type InstanceState = 'up' | 'ejected';

export interface UpstreamTimeouts {
  /** Opening a TCP connection. */
  connectMs: number;
  /** From the end of the request body to the end of the response headers. */
  headersMs: number;
  /** Silence allowed between two chunks of the response body. */
  bodyMs: number;
}

export interface UpstreamPoolOptions {
  timeouts: UpstreamTimeouts;
  /** Keep-alive connections per instance. */
  connectionsPerInstance: number;
  /** How long an instance that refused a connection is left out. */
  ejectMs: number;
  now?: () => number;
}

export interface InstanceSnapshot {
  url: string;
  state: InstanceState;
  inFlight: number;
  consecutiveFailures: number;
  lastFailure: string | null;
}

export class UpstreamInstance {
  readonly url: string;
  /** The upstream's path prefix ('' for a bare origin), put in front of the client's path. */
  readonly basePath: string;
  readonly dispatcher: Pool;
  readonly #now: () => number;
  #state: InstanceState = 'up';
  #ejectedUntil = 0;
  #inFlight = 0;
  #consecutiveFailures = 0;
  #lastFailure: string | null = null;

  constructor(url: string, options: UpstreamPoolOptions) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`not an HTTP URL: ${url}`);
    this.url = url;
    this.basePath = parsed.pathname.replace(/\/+$/, '');
    this.#now = options.now ?? Date.now;
    this.dispatcher = new Pool(parsed.origin, {
      connections: options.connectionsPerInstance,
      connect: { timeout: options.timeouts.connectMs },
      headersTimeout: options.timeouts.headersMs,
      bodyTimeout: options.timeouts.bodyMs,
      keepAliveTimeout: 10_000,
    });
  }

  /** Up, or ejected with its cool-down over (the next request is its probe). */
  get available(): boolean {
    return this.#state === 'up' || this.#now() >= this.#ejectedUntil;
  }

  /** Milliseconds until an ejected instance is tried again; 0 when available. */
  get retryInMs(): number {
    return this.available ? 0 : this.#ejectedUntil - this.#now();
  }

  begin(): void {
    this.#inFlight += 1;
  }

  end(): void {
    this.#inFlight -= 1;
  }

  /** It answered (whatever the status): it is reachable. */
  recordSuccess(): void {
    this.#state = 'up';
    this.#consecutiveFailures = 0;
  }

  /** It could not be reached: left out of the rotation for `ejectMs`. */
  recordUnreachable(reason: string, ejectMs: number): void {
    this.#recordFailure(reason);
    this.#state = 'ejected';
    this.#ejectedUntil = this.#now() + ejectMs;
  }

  /** It was reached but failed (timeout, broken answer): counted, for the circuit breaker to come. */
  recordFailure(reason: string): void {
    this.#recordFailure(reason);
  }

  #recordFailure(reason: string): void {
    this.#consecutiveFailures += 1;
    this.#lastFailure = reason;
  }

  snapshot(): InstanceSnapshot {
    return {
      url: this.url,
      state: this.#state,
      inFlight: this.#inFlight,
      consecutiveFailures: this.#consecutiveFailures,
      lastFailure: this.#lastFailure,
    };
  }
}

export class UpstreamPool {
  readonly service: string;
  readonly instances: readonly UpstreamInstance[];
  readonly options: UpstreamPoolOptions;
  #cursor = 0;

  constructor(service: string, urls: readonly string[], options: UpstreamPoolOptions) {
    if (urls.length === 0) throw new Error(`no upstream instance configured for ${service}`);
    this.service = service;
    this.options = options;
    this.instances = urls.map((url) => new UpstreamInstance(url, options));
  }

  /** The next available instance in round-robin order, or undefined when every instance is ejected. */
  next(): UpstreamInstance | undefined {
    const count = this.instances.length;
    for (let step = 0; step < count; step++) {
      const index = (this.#cursor + step) % count;
      const instance = this.instances[index]!;
      if (instance.available) {
        this.#cursor = (index + 1) % count;
        return instance;
      }
    }
    return undefined;
  }

  /** How long until some instance is tried again (for Retry-After). */
  retryInMs(): number {
    return Math.min(...this.instances.map((i) => i.retryInMs));
  }

  snapshot(): InstanceSnapshot[] {
    return this.instances.map((i) => i.snapshot());
  }

  /** Lets requests in flight finish, then closes every connection. */
  async close(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.dispatcher.close()));
  }
}
