import CircuitBreaker from 'opossum';
import { type Dispatcher, Pool } from 'undici';
import type { Logger } from '../../shared/logger.port.ts';
import { ActiveHealthCheck, type HealthCheckOptions } from './active-health-check.ts';
import { type EjectionOptions, PassiveEjection } from './passive-ejection.ts';
import { classify, type FailureKind, UpstreamServerError } from './upstream-errors.ts';

/**
 * One instance of an upstream service: its keep-alive connection pool, and the three things that take it
 * out of the rotation — an active health check that fails, a passive ejection after failed requests, and
 * an open circuit breaker (opossum) over the failure rate of its calls. It is available when none of the
 * three holds; a half-open breaker lets exactly one trial request through.
 */
export type Health = 'healthy' | 'unhealthy' | 'ejected';
export type BreakerState = 'closed' | 'open' | 'halfOpen';
/** How one attempt on this instance ended (a label of gateway_upstream_requests_total). */
export type Outcome = 'success' | 'server_error' | 'error' | 'timeout' | 'rejected' | 'cancelled';
export const OUTCOMES: readonly Outcome[] = ['success', 'server_error', 'error', 'timeout', 'rejected', 'cancelled'];

export interface UpstreamTimeouts {
  /** Opening a TCP connection. */
  connectMs: number;
  /** The upstream timeout: from the end of the request body to the end of the response headers. */
  headersMs: number;
  /** Silence allowed between two chunks of the response body. */
  bodyMs: number;
}

export interface BreakerOptions {
  /** Failure percentage, over the rolling window, above which the breaker opens. */
  errorThresholdPercentage: number;
  /** Calls in the window before the breaker may open at all. */
  volumeThreshold: number;
  /** Cool-down of an open breaker before it half-opens and lets one trial request through. */
  resetTimeoutMs: number;
  rollingWindowMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = {
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  resetTimeoutMs: 5000,
  rollingWindowMs: 10_000,
};

export interface InstanceOptions {
  timeouts: UpstreamTimeouts;
  /** Keep-alive connections per instance. */
  connectionsPerInstance: number;
  ejection: EjectionOptions;
  health: HealthCheckOptions;
  breaker: BreakerOptions;
  logger: Logger;
  now?: () => number;
}

/** What the instance is told of an attempt in progress: the answer's status once it has started (else 0). */
export interface AttemptState {
  status: number;
}

/** One attempt: the request, with the attempt's state as its `opaque` (the stream factory sees it). */
export type UpstreamRequest<A extends AttemptState = AttemptState> = Dispatcher.RequestOptions<A> & { opaque: A };
export type ResponseSink<A extends AttemptState = AttemptState> = Dispatcher.StreamFactory<A>;

export interface InstanceSnapshot {
  url: string;
  health: Health;
  breaker: BreakerState;
  /** In the rotation now. */
  available: boolean;
  inFlight: number;
  consecutiveFailures: number;
  lastFailure: string | null;
  /** Why the last active check failed (null when it passed or checks are off). */
  lastCheckProblem: string | null;
  /** Time left of a passive ejection. */
  ejectedForMs: number;
  counts: {
    /** Attempts sent to the instance (breaker rejections excluded). */
    requests: number;
    /** Attempts that failed because of the instance: 5xx, no answer, timeout. */
    failures: number;
    /** Attempts that failed here and were retried on another instance. */
    retries: number;
    ejections: number;
  };
  outcomes: Record<Outcome, number>;
}

export class UpstreamInstance {
  readonly service: string;
  readonly url: string;
  /** The upstream's path prefix ('' for a bare origin), put in front of the client's path. */
  readonly basePath: string;
  readonly dispatcher: Pool;
  readonly #breaker: CircuitBreaker<[UpstreamRequest, ResponseSink], Dispatcher.StreamData<AttemptState>>;
  readonly #ejection: PassiveEjection;
  readonly #health: ActiveHealthCheck | undefined;
  readonly #options: InstanceOptions;
  readonly #now: () => number;
  readonly #outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  #requests = 0;
  #failures = 0;
  #retries = 0;
  #inFlight = 0;
  #lastFailure: string | null = null;
  #openedAt = 0;
  #retired = false;

  constructor(service: string, url: string, options: InstanceOptions) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`not an HTTP URL: ${url}`);
    this.service = service;
    this.url = url;
    this.basePath = parsed.pathname.replace(/\/+$/, '');
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#ejection = new PassiveEjection(options.ejection, this.#now);
    const dispatcher = new Pool(parsed.origin, {
      connections: options.connectionsPerInstance,
      connect: { timeout: options.timeouts.connectMs },
      headersTimeout: options.timeouts.headersMs,
      bodyTimeout: options.timeouts.bodyMs,
      keepAliveTimeout: 10_000,
    });
    this.dispatcher = dispatcher;
    // The answer is streamed straight into the writable the sink returns (undici's stream API: no
    // intermediate readable, no pipeline); a 5xx rejects once it is through, so the breaker counts it.
    this.#breaker = this.#createBreaker(async (request, sink) => {
      const done = await dispatcher.stream(request, sink);
      if (done.opaque.status >= 500) throw new UpstreamServerError(done.opaque.status);
      return done;
    });
    if (options.health.intervalMs > 0) {
      this.#health = new ActiveHealthCheck(parsed.origin, this.basePath, options.health, (healthy) =>
        this.#healthChanged(healthy),
      );
    }
  }

  /** In the rotation: healthy, not ejected, and its breaker closed (or half-open with the trial free). */
  get available(): boolean {
    return (
      (this.#health?.healthy ?? true) && !this.#ejection.ejected && (this.#breaker.closed || this.#breaker.pendingClose)
    );
  }

  get health(): Health {
    if (this.#health && !this.#health.healthy) return 'unhealthy';
    return this.#ejection.ejected ? 'ejected' : 'healthy';
  }

  get breakerState(): BreakerState {
    if (this.#breaker.opened) return 'open';
    return this.#breaker.halfOpen ? 'halfOpen' : 'closed';
  }

  /** Roughly how long until the instance may be available again (0 when it is). */
  get availableInMs(): number {
    if (this.available) return 0;
    const waits = [this.#ejection.remainingMs];
    if (this.#health && !this.#health.healthy) waits.push(this.#health.intervalMs * this.#options.health.healthyAfter);
    if (this.#breaker.opened) waits.push(this.#openedAt + this.#options.breaker.resetTimeoutMs - this.#now());
    return Math.max(0, ...waits);
  }

  /** Dropped from its pool by a reload: it finishes what it has in flight and takes nothing new. */
  get retired(): boolean {
    return this.#retired;
  }

  get outcomes(): Readonly<Record<Outcome, number>> {
    return this.#outcomes;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  startHealthChecks(): void {
    this.#health?.start();
  }

  /**
   * Sends one attempt through the breaker and streams the answer into what `sink` returns (called once the
   * status line and headers are in); resolves when the answer is through, rejects on a 5xx answer (with
   * UpstreamServerError, after it is through) or a failure. Pair with end().
   */
  async send<A extends AttemptState>(request: UpstreamRequest<A>, sink: ResponseSink<A>): Promise<void> {
    this.#inFlight += 1;
    await this.#breaker.fire(request as UpstreamRequest, sink as ResponseSink);
  }

  end(): void {
    this.#inFlight -= 1;
  }

  /** The instance answered (the status line is in). */
  answered(statusCode: number): void {
    this.#requests += 1;
    if (statusCode < 500) {
      this.#outcomes.success += 1;
      this.#ejection.succeeded();
      return;
    }
    this.#outcomes.server_error += 1;
    this.#failed(false, `HTTP ${statusCode}`);
  }

  /** The attempt failed without an answer; returns what kind of failure it was. */
  failed(error: unknown, reason: string, clientGone: boolean): FailureKind {
    const kind = clientGone ? 'client' : classify(error);
    if (kind !== 'rejected') this.#requests += 1;
    switch (kind) {
      case 'client':
        this.#outcomes.cancelled += 1;
        break;
      case 'rejected':
        this.#outcomes.rejected += 1;
        break;
      case 'timeout':
        this.#outcomes.timeout += 1;
        this.#failed(false, reason);
        break;
      default:
        this.#outcomes.error += 1;
        // Only a connection that cannot be made ejects at once: one route that drops its connections says
        // less about the instance than a port that refuses them.
        this.#failed(kind === 'unreachable', reason);
    }
    return kind;
  }

  /** The answer broke off while it was being streamed (it counts as answered, and as a failure). */
  failedMidAnswer(statusCode: number, error: unknown, reason: string): void {
    this.answered(statusCode);
    if (classify(error) !== 'client' && statusCode < 500) this.#failed(false, reason);
  }

  /** An attempt that failed here is being retried on another instance. */
  retried(): void {
    this.#retries += 1;
  }

  snapshot(): InstanceSnapshot {
    return {
      url: this.url,
      health: this.health,
      breaker: this.breakerState,
      available: this.available,
      inFlight: this.#inFlight,
      consecutiveFailures: this.#ejection.consecutiveFailures,
      lastFailure: this.#lastFailure,
      lastCheckProblem: this.#health?.lastProblem ?? null,
      ejectedForMs: this.#ejection.remainingMs,
      counts: {
        requests: this.#requests,
        failures: this.#failures,
        retries: this.#retries,
        ejections: this.#ejection.ejections,
      },
      outcomes: { ...this.#outcomes },
    };
  }

  /** Stops the checks and the breaker's timers; lets calls in flight finish, then closes the connections. */
  async close(): Promise<void> {
    this.#retired = true;
    this.#breaker.shutdown();
    await Promise.all([this.#health?.close(), this.dispatcher.close()]);
  }

  #failed(connection: boolean, reason: string): void {
    this.#failures += 1;
    this.#lastFailure = reason;
    if (this.#ejection.failed(connection)) {
      this.#options.logger.warn('upstream instance ejected', {
        code: 'UPSTREAM_EJECTED',
        service: this.service,
        upstream: this.url,
        reason,
        forMs: this.#ejection.remainingMs,
      });
    }
  }

  #healthChanged(healthy: boolean): void {
    const meta = { service: this.service, upstream: this.url, problem: this.#health?.lastProblem ?? null };
    if (!healthy)
      return this.#options.logger.warn('upstream instance unhealthy', { ...meta, code: 'UPSTREAM_UNHEALTHY' });
    // It has come back and proved it: a passive ejection from before has no reason to last.
    this.#ejection.clear();
    this.#options.logger.info('upstream instance healthy again', meta);
  }

  #createBreaker(
    action: (request: UpstreamRequest, sink: ResponseSink) => Promise<Dispatcher.StreamData<AttemptState>>,
  ): CircuitBreaker<[UpstreamRequest, ResponseSink], Dispatcher.StreamData<AttemptState>> {
    const { breaker: options, logger } = this.#options;
    const breaker = new CircuitBreaker(action, {
      name: `${this.service} ${this.url}`,
      // The upstream timeout is undici's headers timeout, which starts once the request is sent: opossum's
      // own timer would start before a streamed upload is read and blame the instance for a slow client.
      // Its timeout errors reject the action, so they count as failures here all the same.
      timeout: false,
      errorThresholdPercentage: options.errorThresholdPercentage,
      volumeThreshold: options.volumeThreshold,
      resetTimeout: options.resetTimeoutMs,
      rollingCountTimeout: options.rollingWindowMs,
      rollingCountBuckets: 10,
      // Latency percentiles would sort every latency of the window on each failure; snapshots are unused.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      // A client that went away or whose upload broke says nothing about the instance.
      errorFilter: (error: unknown) => classify(error) === 'client',
    });
    const meta = { service: this.service, upstream: this.url };
    breaker.on('open', () => {
      this.#openedAt = this.#now();
      logger.warn('upstream circuit breaker open', {
        ...meta,
        code: 'UPSTREAM_CIRCUIT_OPEN',
        retryInMs: options.resetTimeoutMs,
      });
    });
    breaker.on('halfOpen', () => logger.info('upstream circuit breaker half-open', meta));
    breaker.on('close', () => logger.info('upstream circuit breaker closed', meta));
    return breaker;
  }
}
