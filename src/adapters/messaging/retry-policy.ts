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
 * Socket and server states that say a dependency (the database, mostly) cannot be reached right now, from
 * Node, mysql2, knex and MikroORM: nothing about the event itself.
 */
const OUTAGE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'CR_SERVER_GONE_ERROR',
  'CR_SERVER_LOST',
]);

/** Whether `error` (or one of its causes) is a dependency being unreachable rather than a problem with the event. */
export function isOutage(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, name } = e as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && OUTAGE_CODES.has(code)) return true;
    // knex: no connection could be taken from the pool in time (the server is gone or saturated).
    if (name === 'KnexTimeoutError') return true;
  }
  return false;
}

/**
 * An event a handler could not handle because a dependency is unreachable: handed back to the bus unhandled
 * (Kafka commits nothing past it and delivers it again; the in-process relay publishes it again), never
 * parked — the dead-letter queue is for events that fail on their own, not for an outage's backlog.
 */
export class EventHandedBack extends Error {
  readonly code = 'EVENT_HANDED_BACK';
  readonly eventId: string;

  constructor(eventId: string, cause: unknown) {
    super(`event ${eventId} not handled: a dependency is unavailable (${String(cause)}); it will be delivered again`, {
      cause,
    });
    this.name = 'EventHandedBack';
    this.eventId = eventId;
  }
}

/**
 * How both buses handle one event for one consumer group: attempts with backoff until one succeeds (a
 * debug line says so) or the policy's last one fails: then it is parked, unless the failure is an outage
 * (see isOutage), which hands the event back to be delivered again (EventHandedBack). A warning with a
 * stable code before each new attempt. Runs in the event's scope, so every line carries its ids and trace.
 */
export async function handleWithRetries(handling: Handling): Promise<void> {
  const { event, where, policy, logger } = handling;
  for (let attempt = 1; ; attempt++) {
    try {
      await handling.attempt();
      logger.debug('event handled', { type: event.type, attempts: attempt });
      return;
    } catch (error) {
      if (attempt >= policy.maxAttempts) {
        if (isOutage(error)) {
          logger.warn('a dependency is unavailable: event handed back, to be delivered again', {
            ...where,
            eventId: event.id,
            type: event.type,
            attempts: attempt,
            code: 'EVENT_HANDED_BACK',
            error: String(error),
          });
          throw new EventHandedBack(event.id, error);
        }
        return handling.park(error, attempt);
      }
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
