import { Client } from 'undici';

/**
 * Active health of one instance: its readiness endpoint is asked on an interval, over a connection of its
 * own (a check never queues behind proxied traffic), each check bounded by a short timeout. The instance
 * turns unhealthy after `unhealthyAfter` failed checks in a row and healthy again after `healthyAfter`
 * good ones; instances start healthy, so a gateway that starts first does not refuse traffic meanwhile.
 */
export interface HealthCheckOptions {
  path: string;
  /** Time between two checks; 0 turns active checks off. */
  intervalMs: number;
  timeoutMs: number;
  unhealthyAfter: number;
  healthyAfter: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckOptions = {
  path: '/health/ready',
  intervalMs: 2000,
  timeoutMs: 1000,
  unhealthyAfter: 2,
  healthyAfter: 2,
};

export class ActiveHealthCheck {
  readonly #client: Client;
  readonly #path: string;
  readonly #options: HealthCheckOptions;
  readonly #onChange: (healthy: boolean) => void;
  #healthy = true;
  /** Checks in a row that disagree with the current state. */
  #streak = 0;
  #lastProblem: string | null = null;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(origin: string, basePath: string, options: HealthCheckOptions, onChange: (healthy: boolean) => void) {
    this.#options = options;
    this.#path = `${basePath}${options.path}`;
    this.#onChange = onChange;
    this.#client = new Client(origin, {
      connect: { timeout: options.timeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: Math.max(options.intervalMs * 2, 4000),
    });
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  /** Why the last check failed (null when it passed). */
  get lastProblem(): string | null {
    return this.#lastProblem;
  }

  get intervalMs(): number {
    return this.#options.intervalMs;
  }

  start(): void {
    if (this.#options.intervalMs > 0) this.#schedule(0);
  }

  /** One check now; resolves once the state has been updated. */
  async check(): Promise<void> {
    const problem = await this.#probe();
    this.#lastProblem = problem;
    const passed = problem === null;
    if (passed === this.#healthy) {
      this.#streak = 0;
      return;
    }
    this.#streak += 1;
    if (this.#streak >= (this.#healthy ? this.#options.unhealthyAfter : this.#options.healthyAfter)) {
      this.#healthy = !this.#healthy;
      this.#streak = 0;
      this.#onChange(this.#healthy);
    }
  }

  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#client.destroy();
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    // Checks never overlap: the next one is scheduled when this one is done.
    this.#timer = setTimeout(() => {
      void this.check().finally(() => this.#schedule(this.#options.intervalMs));
    }, delayMs);
    this.#timer.unref();
  }

  async #probe(): Promise<string | null> {
    try {
      const { statusCode, body } = await this.#client.request({
        method: 'GET',
        path: this.#path,
        headers: { 'user-agent': 'hexashop-gateway-health-check' },
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      await body.dump();
      return statusCode >= 200 && statusCode < 300 ? null : `HTTP ${statusCode}`;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return typeof code === 'string' ? code : error instanceof Error ? error.name : String(error);
    }
  }
}
