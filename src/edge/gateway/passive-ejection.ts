/**
 * Outlier ejection from live traffic (passive health): an instance that refuses connections is left out
 * at once, one that keeps failing requests (5xx, dropped connections, timeouts) after a few in a row. Each
 * ejection in a row lasts twice as long as the one before, up to a cap; a good answer resets the streak.
 */
export interface EjectionOptions {
  /** The first ejection's length. */
  baseMs: number;
  /** The longest an ejection lasts, however many came before it. */
  maxMs: number;
  /** Failed requests in a row (5xx, dropped connection, timeout) that eject; a refused connection ejects at once. */
  consecutiveFailures: number;
}

export const DEFAULT_EJECTION: EjectionOptions = { baseMs: 1000, maxMs: 30_000, consecutiveFailures: 3 };

export class PassiveEjection {
  readonly #options: EjectionOptions;
  readonly #now: () => number;
  #until = 0;
  /** Ejections since the last good answer: the back-off exponent. */
  #streak = 0;
  #consecutiveFailures = 0;
  #ejections = 0;

  constructor(options: EjectionOptions, now: () => number) {
    this.#options = options;
    this.#now = now;
  }

  get ejected(): boolean {
    if (this.#until === 0) return false;
    if (this.#now() < this.#until) return true;
    this.#until = 0;
    return false;
  }

  /** Milliseconds left of the current ejection (0 when not ejected). */
  get remainingMs(): number {
    return this.ejected ? this.#until - this.#now() : 0;
  }

  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  /** How many times the instance has been ejected since the gateway started. */
  get ejections(): number {
    return this.#ejections;
  }

  succeeded(): void {
    this.#consecutiveFailures = 0;
    this.#streak = 0;
  }

  /** Records a failure; returns true when it ejected the instance. */
  failed(connection: boolean): boolean {
    this.#consecutiveFailures += 1;
    // Requests already in flight when the instance was ejected do not lengthen the ejection.
    if (this.ejected) return false;
    if (!connection && this.#consecutiveFailures < this.#options.consecutiveFailures) return false;
    const backOff = Math.min(this.#options.baseMs * 2 ** this.#streak, this.#options.maxMs);
    this.#until = this.#now() + backOff;
    this.#streak += 1;
    this.#ejections += 1;
    return true;
  }

  /** The instance proved itself otherwise (an active check saw it come back): end the ejection now. */
  clear(): void {
    this.#until = 0;
    this.#streak = 0;
    this.#consecutiveFailures = 0;
  }
}
