import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler } from 'express';
import { DomainError, type ErrorCategory } from '../../shared/domain-error.ts';
import type { Logger } from '../../shared/logger.port.ts';

/** An error that only the HTTP edge raises (authentication, content negotiation, body limits). */
export class HttpProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  readonly errors: unknown[] | undefined;

  constructor(
    status: number,
    code: string,
    detail: string,
    options: { headers?: Record<string, string>; errors?: unknown[] } = {},
  ) {
    super(detail);
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
    this.errors = options.errors;
  }
}

/** The one table that turns the core's error categories into status codes. */
const STATUS: Record<ErrorCategory, number> = {
  invalid: 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'precondition-failed': 412,
  unprocessable: 422,
  unavailable: 503,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * Answers with an RFC 9457 problem+json document. Plain Node response methods, so the gateway's proxy path
 * (which bypasses Express) answers exactly like the Express routes.
 */
export function sendProblem(
  res: ServerResponse,
  status: number,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
): void {
  const req = res.req as IncomingMessage & { originalUrl?: string };
  const body = JSON.stringify({
    type: `https://hexashop.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    instance: req.originalUrl ?? req.url,
    ...extra,
  });
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** Sends an HttpProblem, with the headers it carries (WWW-Authenticate, Retry-After). */
export function sendHttpProblem(res: ServerResponse, problem: HttpProblem): void {
  for (const name in problem.headers) res.setHeader(name, problem.headers[name]!);
  sendProblem(res, problem.status, problem.code, problem.message, problem.errors ? { errors: problem.errors } : {});
}

/**
 * The one problem mapper: whatever a step of the edge, a router or the proxy threw, answered as RFC 9457
 * problem+json. Unknown errors get a generic 500, never a stack; an answer already under way is cut off.
 */
export function sendError(res: ServerResponse, error: unknown, logger: Logger): void {
  if (res.headersSent) return void res.destroy();
  if (error instanceof HttpProblem) return sendHttpProblem(res, error);
  if (error instanceof DomainError) {
    const status = STATUS[error.category];
    if (status === 503) res.setHeader('Retry-After', '5');
    if (status >= 500) logger.warn('dependency unavailable', { code: error.code, detail: error.message });
    return sendProblem(res, status, error.code, error.message);
  }
  if (isConnectionFailure(error)) {
    logger.warn('dependency unavailable', { code: 'DEPENDENCY_UNAVAILABLE', error: describe(error) });
    res.setHeader('Retry-After', '5');
    return sendProblem(res, 503, 'DEPENDENCY_UNAVAILABLE', 'a service this request needs is unavailable; retry later');
  }
  const parserError = bodyParserProblem(error);
  if (parserError) return sendProblem(res, parserError.status, parserError.code, parserError.detail);
  // What body-parser could not read for the client's own reasons (a gzip, deflate or br body that does not
  // decode, or one cut short) comes as an http-errors 4xx with the cause inside.
  if (isClientError(error)) {
    return sendProblem(res, 400, 'MALFORMED_BODY', 'the request body could not be decoded (check Content-Encoding)');
  }
  // The router could not percent-decode a path parameter (e.g. /products/%E0%A4%A): the client's mistake.
  if (error instanceof URIError)
    return sendProblem(res, 400, 'MALFORMED_PATH', 'the path is not valid percent-encoding');
  const req = res.req as IncomingMessage | undefined;
  logger.error('unhandled error', {
    code: 'UNHANDLED_ERROR',
    method: req?.method,
    path: req?.url?.split('?')[0],
    error: describe(error),
  });
  return sendProblem(res, 500, 'INTERNAL', 'the server could not complete the request');
}

/** Express's error handler: the same mapper. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => sendError(res, error, logger);
}

/** body-parser reports its failures as errors with a `type`; they are the client's, not ours. */
function bodyParserProblem(error: unknown): { status: number; code: string; detail: string } | null {
  if (typeof error !== 'object' || error === null || !('type' in error)) return null;
  switch ((error as { type: string }).type) {
    case 'entity.too.large':
      return { status: 413, code: 'BODY_TOO_LARGE', detail: 'the request body is larger than allowed' };
    case 'entity.parse.failed':
      return { status: 400, code: 'MALFORMED_JSON', detail: 'the request body is not valid JSON' };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, code: 'UNSUPPORTED_ENCODING', detail: 'the body must be UTF-8 JSON' };
    case 'request.aborted':
    case 'request.size.invalid':
      return { status: 400, code: 'BAD_BODY', detail: 'the request body was incomplete' };
    default:
      return null;
  }
}

const isClientError = (error: unknown): boolean => {
  if (typeof error !== 'object' || error === null) return false;
  const { status, expose } = error as { status?: unknown; expose?: unknown };
  return expose === true && typeof status === 'number' && status >= 400 && status < 500;
};

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
]);

/** A database or broker that cannot be reached is a 503 (retry later), not a bug of ours. */
function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return error.name === 'ConnectionException' || (typeof code === 'string' && CONNECTION_CODES.has(code));
}

const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
