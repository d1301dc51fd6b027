import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What every log line written while handling one request (or one event) carries, and the trace that
 * outgoing calls made meanwhile continue. One async-local store for both: the edge opens it once per request.
 */
export interface RequestScope {
  requestId: string;
  correlationId?: string;
  /** W3C traceparent of the request being handled. */
  traceparent?: string;
}

export const requestScope = new AsyncLocalStorage<RequestScope>();
