import type { Logger } from '../../shared/logger.port.ts';
import type { EventEnvelope } from '../../shared/messaging/event-envelope.ts';
import { errorCode } from '../logging/error-code.ts';

/** How a consumer retries a failing event before parking it on the dead-letter topic. */
export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 5_000 };

export const backoffMs = (policy: RetryPolicy, attempt: number) =>
  Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Handling {
  event: EventEnvelope;
  where: { topic: string; group: string };
  policy: RetryPolicy;
  logger: Logger;
  /** One attempt at handling the event. */
  attempt(): Promise<void>;
  /** Parks the event after its last failed attempt (or when it cannot be read at all). */
  park(error: unknown, attempts: number): Promise<void>;
  /** Waits between attempts (a Kafka consumer heartbeats meanwhile). */
  backOff(ms: number): Promise<void>;
}

/**
 * How both buses handle one event for one consumer group: attempts with backoff until one succeeds (a
 * debug line says so) or the policy's last one fails (it is parked); a warning with a stable code before
 * each new attempt. Runs in the event's scope, so every line carries its ids and trace.
 */
export async function handleWithRetries(handling: Handling): Promise<void> {
  const { event, where, policy, logger } = handling;
  for (let attempt = 1; ; attempt++) {
    try {
      await handling.attempt();
      logger.debug('event handled', { type: event.type, attempts: attempt });
      return;
    } catch (error) {
      if (attempt >= policy.maxAttempts) return handling.park(error, attempt);
      warnRetry(logger, where, event, attempt, error);
      await handling.backOff(backoffMs(policy, attempt));
    }
  }
}

/** The one warning a bus logs before it hands a failed event to its handler again (the code is stable). */
function warnRetry(
  logger: Logger,
  where: { topic: string; group: string },
  event: EventEnvelope,
  attempt: number,
  error: unknown,
): void {
  logger.warn('event handler failed; will retry', {
    ...where,
    eventId: event.id,
    type: event.type,
    attempt,
    code: errorCode(error, 'EVENT_HANDLER_FAILED'),
    error: String(error),
  });
}
