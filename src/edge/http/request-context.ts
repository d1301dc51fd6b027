import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { requestScope } from '../../adapters/logging/request-scope.ts';
import type { Step } from '../pipeline.ts';

const SAFE_ID = /^[\w.:-]{1,128}$/;

declare module 'node:http' {
  interface IncomingMessage {
    /** The request id: the caller's when well-formed, else a new one (see `requestIdOf`). */
    id: string;
  }
}

/** The caller's X-Request-Id when it is well-formed (no header injection, bounded), else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
}

/** Runs `fn` with the request id as the correlation id of every log line and event written meanwhile. */
export const withRequestId = <T>(id: string, fn: () => T): T =>
  requestScope.run({ requestId: id, correlationId: id }, fn);

/**
 * Assigns the request id (or keeps a well-formed one the caller sent), echoes it, and makes it the
 * correlation id of every log line and every event written while handling the request.
 */
export const assignRequestId: Step = (req, res, next) => {
  const id = requestIdOf(req);
  req.id = id;
  res.setHeader('X-Request-Id', id);
  withRequestId(id, next);
};

/**
 * `X-Read-After`: a product write answers with its commit position when the database has read replicas,
 * and a client echoes it on its next reads to see that write (read-your-writes; docs/architecture.md).
 */
export const READ_AFTER_HEADER = 'X-Read-After';

/** Sets X-Read-After to the commit position of the write this request made, if it made one that has one. */
export function answerReadAfter(res: { setHeader(name: string, value: string): unknown }): void {
  const position = requestScope.getStore()?.writePosition;
  if (position !== undefined) res.setHeader(READ_AFTER_HEADER, position);
}
