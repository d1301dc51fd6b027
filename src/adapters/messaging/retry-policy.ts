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

/** The one warning a bus logs before it hands a failed event to its handler again (the code is stable). */
export function warnRetry(
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
