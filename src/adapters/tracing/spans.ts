import type { EventEnvelope } from '../../shared/messaging/event-envelope.ts';
import { traceEventsWith } from '../../shared/messaging/make-event.ts';
import { childTraceparent, currentTraceparent } from './traceparent.ts';

/**
 * Spans at the seams the process owns: the edge (a request served), the HTTP clients (a call made), the event
 * buses (an event made, an event handled) and the SQL layer (a statement run). Recording them is off unless a
 * span recorder is installed (the OpenTelemetry one, when an OTLP endpoint is configured): then every place
 * that makes a traceparent makes it from a recorded span, so the trace a collector sees has no holes. Off, a
 * call costs one comparison and the hand-written traceparents (traceparent.ts) carry the trace alone.
 *
 * Background work outside a request or an event (relay polls, health checks) records nothing: a span is
 * always a child of the trace in scope.
 */
export type SpanKind = 'server' | 'client' | 'producer' | 'consumer' | 'internal';
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

export interface Span {
  /** The W3C traceparent naming this span: what its children (calls, events, handlers) carry. */
  readonly traceparent: string;
  setAttributes(attributes: SpanAttributes): void;
  updateName(name: string): void;
  /** Ends it; a failure marks it as an error (with the failure's stable code as `error.type`). */
  end(failure?: unknown): void;
}

export interface SpanRecorder {
  /** A new span under `parent` (a traceparent), or at the root of a new trace when there is none. */
  start(name: string, kind: SpanKind, parent: string | undefined, attributes?: SpanAttributes): Span;
  /** Sends what is buffered and stops recording. */
  shutdown(): Promise<void>;
}

let recorder: SpanRecorder | undefined;

/** Installs the recorder of this process (one per process, as OpenTelemetry's own provider); none to stop. */
export function recordSpansWith(next: SpanRecorder | undefined): void {
  recorder = next;
}

export const recordingSpans = (): boolean => recorder !== undefined;

/** A span of the work in hand (a child of the request or event in scope), or undefined when none is recorded. */
export function startSpan(
  name: string,
  kind: SpanKind,
  attributes?: SpanAttributes,
  parent: string | undefined = currentTraceparent(),
): Span | undefined {
  return recorder?.start(name, kind, parent, attributes);
}

/**
 * Runs `work` under a span when spans are recorded and a trace is in scope; else just runs it (the attributes
 * are not even built then). For the leaves of a trace: statements, calls whose headers carry nothing of it.
 */
export function inChildSpan<T>(
  kind: SpanKind,
  describe: () => { name: string; attributes: SpanAttributes },
  work: () => Promise<T>,
): Promise<T> {
  if (recorder === undefined) return work();
  const parent = currentTraceparent();
  if (parent === undefined) return work();
  const { name, attributes } = describe();
  return spanned(recorder.start(name, kind, parent, attributes), work);
}

/** Ends `span` when `work` settles: as failed when it throws. */
export async function spanned<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    const result = await work();
    span.end();
    return result;
  } catch (error) {
    span.end(error);
    throw error;
  }
}

/**
 * An event made while a trace is in scope (an HTTP request, a consumer handling an event) is a span of it: a
 * producer span when spans are recorded (its parent of every consumer's span), else just a new span id.
 */
function traceOfNewEvent(event: EventEnvelope): string | undefined {
  const current = currentTraceparent();
  if (current === undefined) return undefined;
  const span = startSpan(
    `create ${event.type}`,
    'producer',
    {
      'messaging.operation.type': 'create',
      'messaging.message.id': event.id,
      'hexashop.event_type': event.type,
      'hexashop.correlation_id': event.correlationId,
    },
    current,
  );
  if (span === undefined) return childTraceparent(current);
  span.end();
  return span.traceparent;
}

traceEventsWith(traceOfNewEvent);
