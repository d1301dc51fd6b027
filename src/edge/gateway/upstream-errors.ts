import CircuitBreaker from 'opossum';

/**
 * What went wrong with one upstream attempt, in the terms the proxy decides by: whether the request can
 * have reached the instance (only then is a retry of a write unsafe), whether the instance is to blame
 * (breaker and ejection) and what the client is told.
 */
export type FailureKind =
  /** No connection was made: the request never reached the instance. */
  | 'unreachable'
  /** The instance's breaker is open (or its half-open trial is taken): nothing was sent. */
  | 'rejected'
  /** The connection broke after it was made: the instance may have received the request. */
  | 'connection'
  /** The instance did not answer (or went silent mid-answer) in time. */
  | 'timeout'
  /** The client's side failed: it went away, or its body broke or did not match its length. */
  | 'client'
  /** Anything else: an answer that was not valid HTTP. */
  | 'broken';

/** A 5xx answer: a failure for the breaker, yet an answer all the same (relayed, or dropped for a retry). */
export class UpstreamServerError extends Error {
  readonly status: number;

  constructor(status: number) {
    super(`HTTP ${status}`);
    this.name = 'UpstreamServerError';
    this.status = status;
  }
}

/** Why an attempt is aborted when the client goes away first. */
export class ClientGoneError extends Error {
  readonly code = 'CLIENT_GONE';

  constructor() {
    super('the client went away');
    this.name = 'ClientGoneError';
  }
}

/** Reading the client's request body failed (it aborted the upload): not the instance's fault. */
export class ClientBodyError extends Error {
  constructor(cause: unknown) {
    super('the client request body failed', { cause });
    this.name = 'ClientBodyError';
  }
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const CONNECTION = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** The client's side: its body, its abort, or its response closed before the answer was through. */
const CLIENT = new Set([
  'CLIENT_GONE',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_ABORTED',
  'ABORT_ERR',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_DESTROYED',
]);

export function classify(error: unknown): FailureKind {
  if (error instanceof ClientBodyError) return 'client';
  if (error instanceof Error && CircuitBreaker.isOurError(error)) return 'rejected';
  const code = codeOf(error);
  if (UNREACHABLE.has(code)) return 'unreachable';
  if (CONNECTION.has(code)) return 'connection';
  if (TIMEOUT.has(code)) return 'timeout';
  if (CLIENT.has(code) || (error instanceof Error && error.name === 'AbortError')) return 'client';
  return 'broken';
}

export const codeOf = (error: unknown): string =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';

export const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);
