import type { Logger } from '../shared/logger.port.ts';

/** Shutdown runs phase by phase, in this order; within a phase, closers run together. */
export const PHASES = ['http', 'relays', 'consumers', 'producers', 'storage', 'telemetry'] as const;
export type Phase = (typeof PHASES)[number];

/**
 * The process lifecycle: every adapter that opens something registers how to close it, in the phase it
 * belongs to. Stopping is: stop accepting HTTP and drain it → stop relays → stop consumers → flush
 * producers → close databases and Redis → send the last spans.
 */
export class Lifecycle {
  readonly #closers: { phase: Phase; name: string; close: () => Promise<void> }[] = [];
  readonly #logger: Logger;
  #stopping: Promise<void> | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  onStop(phase: Phase, name: string, close: () => Promise<void>): void {
    this.#closers.push({ phase, name, close });
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  /** True from the moment stopping starts: readiness answers 503 while HTTP drains. */
  get stopping(): boolean {
    return this.#stopping !== undefined;
  }

  async #stopAll(): Promise<void> {
    for (const phase of PHASES) {
      await Promise.all(
        this.#closers
          .filter((c) => c.phase === phase)
          .map(async (c) => {
            try {
              await c.close();
            } catch (error) {
              this.#logger.error('error while stopping', {
                code: 'SHUTDOWN_STEP_FAILED',
                phase,
                name: c.name,
                error: String(error),
              });
            }
          }),
      );
    }
  }
}
