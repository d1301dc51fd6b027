import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What every log line written while handling one request or one event carries, and the trace that outgoing
 * calls (and events) made meanwhile continue. One async-local store for both: the edge opens it once per
 * request, an event bus once per delivery of an event to a consumer group (see `inEventScope`).
 */
export interface RequestScope {
  /** Set while handling an HTTP request. */
  requestId?: string;
  correlationId?: string;
  /** W3C traceparent of the request (or the handling of the event) in progress. */
  traceparent?: string;
  /** Set while a consumer group handles an event: which event, from which topic, for which group. */
  eventId?: string;
  topic?: string;
  group?: string;
}

export const requestScope = new AsyncLocalStorage<RequestScope>();
