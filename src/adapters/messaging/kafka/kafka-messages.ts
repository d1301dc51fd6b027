/**
 * How an event envelope looks on Kafka (see the contract's "Events"): key = aggregate id, value = the
 * envelope as JSON, headers `id`, `type` and a W3C `traceparent`; and how a parked message looks on its
 * dead-letter topic: the original bytes, plus headers saying who parked it, why, and where it came from.
 */
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { z } from 'zod';
import type { EventEnvelope } from '../../../shared/messaging/event-envelope.ts';
import { errorCode } from '../../logging/error-code.ts';
import { eventTraceparent, traceparentForCorrelation } from '../../tracing/traceparent.ts';

export const HEADERS = {
  id: 'id',
  type: 'type',
  traceparent: 'traceparent',
  deadLetterGroup: 'x-dead-letter-group',
  deadLetterError: 'x-dead-letter-error',
  deadLetterCode: 'x-dead-letter-code',
  deadLetterAttempts: 'x-dead-letter-attempts',
  originalTopic: 'x-dead-letter-original-topic',
  originalPartition: 'x-dead-letter-original-partition',
  originalOffset: 'x-dead-letter-original-offset',
} as const;

const MAX_ERROR_LENGTH = 1_000;

/**
 * The value is the contract's envelope; the trace it was made in goes in the `traceparent` header only: the
 * one it carries (a span of the request or handler that made it), else one derived from its correlation id.
 */
export function toKafkaMessage({ traceparent, ...envelope }: EventEnvelope): Message {
  return {
    key: envelope.aggregateId,
    value: JSON.stringify(envelope),
    headers: {
      [HEADERS.id]: envelope.id,
      [HEADERS.type]: envelope.type,
      [HEADERS.traceparent]: eventTraceparent(traceparent, envelope.correlationId),
    },
  };
}

/** `00-<trace id>-<span id>-01` for an event that carries no trace: see `traceparentForCorrelation`. */
export const traceparentFor = traceparentForCorrelation;

const Envelope = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  version: z.number().int(),
  occurredAt: z.string(),
  source: z.string(),
  aggregateId: z.string().min(1),
  correlationId: z.string(),
  payload: z.unknown().refine((p) => p !== undefined, 'required'),
});

/** A message that can never be handled, whatever the handler does: parked without retries. */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
}

/** The envelope a message carries, as a fresh object (handlers may mutate it); throws PoisonMessageError. */
export function parseEnvelope(value: Buffer | null): EventEnvelope {
  if (value === null) throw new PoisonMessageError('invalid envelope: message has no value');
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (error) {
    throw new PoisonMessageError(`invalid envelope: not JSON (${(error as Error).message})`);
  }
  const result = Envelope.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new PoisonMessageError(`invalid envelope: ${problems.join('; ')}`);
  }
  return { ...result.data, payload: result.data.payload };
}

export interface ParkedMessage {
  topic: string;
  partition: number;
  message: KafkaMessage;
  group: string;
  error: unknown;
  /** Handler attempts made; 0 for a message that could not even be parsed. */
  attempts: number;
}

/** The original key, value and headers, plus where it came from and why it was parked. */
export function toDeadLetterMessage({ topic, partition, message, group, error, attempts }: ParkedMessage): Message {
  const headers: IHeaders = {
    ...message.headers,
    [HEADERS.deadLetterGroup]: group,
    [HEADERS.deadLetterError]: String(error).slice(0, MAX_ERROR_LENGTH),
    [HEADERS.deadLetterCode]: errorCode(error, attempts === 0 ? 'EVENT_UNREADABLE' : 'EVENT_HANDLER_FAILED'),
    [HEADERS.deadLetterAttempts]: String(attempts),
    [HEADERS.originalTopic]: topic,
    [HEADERS.originalPartition]: String(partition),
    [HEADERS.originalOffset]: message.offset,
  };
  return { key: message.key, value: message.value, headers };
}

/** A header as text (kafkajs hands headers over as Buffers; repeated headers come as an array: first wins). */
export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const raw = headers?.[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value === undefined ? undefined : value.toString();
}
