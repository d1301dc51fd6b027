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
  /**
   * The commit position (a MariaDB GTID) of the last write made for this request on a database with read
   * replicas: what the client is handed back to read its own write (X-Read-After).
   */
  writePosition?: string;
}

export const requestScope = new AsyncLocalStorage<RequestScope>();

/** Notes a write's commit position in the request (or event handling) in progress, if any. */
export function recordWritePosition(position: string): void {
  const scope = requestScope.getStore();
  if (scope) scope.writePosition = position;
}
