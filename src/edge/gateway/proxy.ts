import { Writable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { sendProblem } from '../http/problem.ts';
import type { Logger } from '../../shared/logger.port.ts';
import { hasBody } from '../http/json-body.ts';
import { startSpan } from '../../adapters/tracing/spans.ts';
import { setClientResponseHeaders, upstreamRequestHeaders } from './forwarding-headers.ts';
import { BodyTooLarge, bufferedBody, NO_BODY, streamedBody, type UpstreamBody } from './request-body.ts';
import {
  ClientGoneError,
  classify,
  codeOf,
  describe,
  type FailureKind,
  UpstreamServerError,
} from './upstream-errors.ts';
import type { AttemptState, UpstreamInstance, UpstreamRequest } from './upstream-instance.ts';
import type { UpstreamPool } from './upstream-pool.ts';

/**
 * Forwards one request to an instance of a service and streams the answer back, with at most one retry on
 * another instance:
 * - when the request never reached the first instance (no connection could be made, or its breaker
 *   refused the call): any request, a streamed body being still unread then;
 * - when it is idempotent — GET, HEAD, OPTIONS, or a POST carrying an Idempotency-Key — and the first
 *   instance failed it (5xx, broken connection, timeout) before any of its answer went to the client.
 * Any other write that may have reached an instance is never sent again, and a 5xx answer it got is
 * passed on as it is. Every wait is bounded by the pool's timeouts; a client that goes away aborts the
 * upstream call.
 */
export interface ProxyOptions {
  logger: Logger;
  /** The largest retryable body held in memory (see request-body.ts). */
  bodyLimit: number;
  /** Rewrites the upstream headers of a request the gateway accepted an API key for (see apiKeyBearer). */
  vouchForApiKey?: (req: IncomingMessage, headers: Record<string, string | string[]>) => void;
}

/** One attempt in progress, as undici's stream factory (`respond`) sees it. */
interface Attempt extends AttemptState {
  res: ServerResponse;
  pool: UpstreamPool;
  instance: UpstreamInstance;
  /** Whether a 5xx answer is to be dropped and the request sent to another instance. */
  retryOn5xx: boolean;
  /** The instance a dropped 5xx answer is retried on. */
  retry: UpstreamInstance | undefined;
}

export async function forward(
  pool: UpstreamPool,
  req: IncomingMessage,
  res: ServerResponse,
  options: ProxyOptions,
): Promise<void> {
  let first = pool.pick();
  if (!first) return noInstance(pool, res);
  const headers = upstreamRequestHeaders(req);
  options.vouchForApiKey?.(req, headers);
  const idempotent = isIdempotent(req);
  const body = hasBody(req) ? await readBody(req, res, idempotent, options.bodyLimit) : NO_BODY;
  if (!body) return;
  // A reload of the upstreams while the body was read dropped the instance picked: pick from the new set.
  if (first.retired) first = pool.pick();
  if (!first) return noInstance(pool, res);

  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort(new ClientGoneError());
  };
  res.once('close', onClose);
  const target = originForm(req.url!);
  const attempt: Attempt = { res, pool, instance: first, status: 0, retryOn5xx: false, retry: undefined };
  const request: UpstreamRequest<Attempt> = {
    method: req.method as Dispatcher.HttpMethod,
    path: target,
    headers,
    body: null,
    signal: abort.signal,
    opaque: attempt,
  };
  try {
    for (let tries = 1; ; tries++) {
      const { instance } = attempt;
      request.path = instance.basePath === '' ? target : `${instance.basePath}${target}`;
      request.body = body.forAttempt();
      attempt.status = 0;
      // Retryable bodies (none, or held in memory) can always be sent again.
      attempt.retryOn5xx = tries === 1 && idempotent;
      attempt.retry = undefined;
      const span = startSpan(req.method!, 'client', {
        'http.request.method': req.method,
        'server.address': instance.url,
      });
      if (span !== undefined) headers.traceparent = span.traceparent;
      try {
        await instance.send(request, respond);
        instance.answered(attempt.status);
        span?.end(attempt.status >= 500 ? { code: `HTTP_${attempt.status}` } : undefined);
        return;
      } catch (error) {
        span?.end(error);
        // A streamed body can be sent again only if that attempt read none of it.
        const canRetry = tries === 1 && body.replayable;
        const next = settle(attempt, error, { canRetry, idempotent }, abort.signal, options.logger);
        if (next === undefined) return;
        attempt.instance = next;
      } finally {
        instance.end();
      }
    }
  } finally {
    res.off('close', onClose);
  }
}

/**
 * Accounts for an attempt that did not end with a good answer relayed, and either answers the client or
 * returns the instance to retry on.
 */
function settle(
  attempt: Attempt,
  error: unknown,
  retry: { canRetry: boolean; idempotent: boolean },
  signal: AbortSignal,
  logger: Logger,
): UpstreamInstance | undefined {
  const { instance, pool, res } = attempt;
  if (error instanceof UpstreamServerError) {
    instance.answered(error.status);
    if (attempt.retry) instance.retried();
    return attempt.retry;
  }
  if (attempt.status !== 0) {
    // The answer had started: a dropped 5xx still gets its retry, anything else is cut short.
    instance.failedMidAnswer(attempt.status, error, reasonOf(error));
    if (attempt.retry) {
      instance.retried();
      return attempt.retry;
    }
    if (classify(error) !== 'client') {
      logger.warn('upstream answer broke off', {
        ...context(instance, error),
        errno: codeOf(error),
        code: 'UPSTREAM_ANSWER_BROKE_OFF',
      });
    }
    return void res.destroy();
  }
  const clientGone = signal.aborted || !res.socket || res.socket.destroyed;
  const kind = instance.failed(error, reasonOf(error), clientGone);
  const retryable =
    retry.canRetry && kind !== 'client' && (retry.idempotent || kind === 'unreachable' || kind === 'rejected');
  const next = retryable ? pool.pick(instance) : undefined;
  if (kind !== 'client' && kind !== 'rejected') {
    logger.warn('upstream call failed', {
      ...context(instance, error),
      errno: codeOf(error),
      code: 'UPSTREAM_CALL_FAILED',
      kind,
      retriedOn: next?.url ?? null,
    });
  }
  if (next) instance.retried();
  else failureResponse(pool, kind, clientGone, res);
  return next;
}

/**
 * undici's stream factory, called once the answer's status line and headers are in: where its body goes.
 * A module-level function (the attempt comes as `opaque`), so no closure is made per request.
 */
function respond({ statusCode, headers, opaque: attempt }: Dispatcher.StreamFactoryData<Attempt>): Writable {
  attempt.status = statusCode;
  if (statusCode >= 500 && attempt.retryOn5xx) {
    attempt.retry = attempt.pool.pick(attempt.instance);
    if (attempt.retry) return discard();
  }
  const { res } = attempt;
  res.statusCode = statusCode;
  setClientResponseHeaders(res, headers);
  return res;
}

const discard = () =>
  new Writable({
    write: (_chunk, _encoding, done) => done(),
  });

/** Safe methods, and a POST the client made repeatable with an Idempotency-Key. */
function isIdempotent(req: IncomingMessage): boolean {
  const { method } = req;
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return true;
  return method === 'POST' && req.headers['idempotency-key'] !== undefined;
}

/** The body for the attempts, or undefined once the client has been answered (or has gone). */
async function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  idempotent: boolean,
  limit: number,
): Promise<UpstreamBody | undefined> {
  if (!idempotent) return streamedBody(req);
  try {
    return await bufferedBody(req, limit);
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) return void res.destroy();
    // The rest of the body is not read: the connection cannot be reused.
    res.setHeader('Connection', 'close');
    sendProblem(res, 413, 'BODY_TOO_LARGE', 'the request body is larger than allowed');
  }
}

/** The request target as a path and query: an absolute-form target (`GET http://host/path`) loses its authority. */
function originForm(target: string): string {
  if (target.startsWith('/')) return target;
  const url = new URL(target);
  return `${url.pathname}${url.search}`;
}

function noInstance(pool: UpstreamPool, res: ServerResponse): void {
  res.setHeader('Retry-After', String(pool.retryAfterSeconds()));
  sendProblem(res, 503, 'NO_UPSTREAM_AVAILABLE', `no ${pool.service} service instance is available`);
}

function failureResponse(pool: UpstreamPool, kind: FailureKind, clientGone: boolean, res: ServerResponse): void {
  if (clientGone || res.headersSent) return void res.destroy();
  switch (kind) {
    case 'unreachable':
    case 'rejected':
      res.setHeader('Retry-After', String(pool.retryAfterSeconds()));
      return sendProblem(res, 503, 'UPSTREAM_UNAVAILABLE', `the ${pool.service} service could not be reached`);
    case 'timeout':
      return sendProblem(res, 504, 'UPSTREAM_TIMEOUT', `the ${pool.service} service did not answer in time`);
    case 'client':
      return sendProblem(res, 400, 'BAD_BODY', 'the request body was incomplete or did not match its Content-Length');
    default:
      return sendProblem(res, 502, 'BAD_GATEWAY', `the ${pool.service} service gave no valid answer`);
  }
}

const reasonOf = (error: unknown) => codeOf(error) || describe(error);

const context = (instance: UpstreamInstance, error: unknown) => ({
  service: instance.service,
  upstream: instance.url,
  code: codeOf(error),
  error: describe(error),
});
