import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { Dispatcher } from 'undici';
import { sendProblem } from '../../adapters/http/problem.ts';
import type { Logger } from '../../shared/logger.port.ts';
import { clientResponseHeaders, hasBody, upstreamRequestHeaders } from './forwarding-headers.ts';
import type { UpstreamInstance, UpstreamPool } from './upstream-pool.ts';

/**
 * Forwards one request to one instance of a service and streams the answer back. Bodies are never buffered
 * or parsed either way (the services apply their own body limits); every wait is bounded by the pool's
 * timeouts; a client that goes away aborts the upstream call.
 */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TIMED_OUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export async function forward(pool: UpstreamPool, req: Request, res: Response, logger: Logger): Promise<void> {
  const instance = pool.next();
  if (!instance) return noInstance(pool, res);

  const abort = new AbortController();
  const onClientGone = () => {
    if (!res.writableFinished) abort.abort(new Error('the client went away'));
  };
  res.on('close', onClientGone);
  instance.begin();
  try {
    const upstream = await instance.dispatcher.request({
      method: req.method as Dispatcher.HttpMethod,
      path: `${instance.basePath}${originForm(req.originalUrl)}`,
      headers: upstreamRequestHeaders(req),
      body: hasBody(req) ? req : null,
      signal: abort.signal,
    });
    instance.recordSuccess();
    res.status(upstream.statusCode);
    for (const [name, value] of Object.entries(clientResponseHeaders(upstream.headers))) res.setHeader(name, value);
    await pipeline(upstream.body, res);
  } catch (error) {
    // The client's socket may close (an upload cut short) before the response's 'close' event has run.
    const clientGone = abort.signal.aborted || !res.socket || res.socket.destroyed;
    failed(pool, instance, error, clientGone, res, logger);
  } finally {
    instance.end();
    res.off('close', onClientGone);
  }
}

/** The request target as a path and query: an absolute-form target (`GET http://host/path`) loses its authority. */
function originForm(target: string): string {
  if (target.startsWith('/')) return target;
  const url = new URL(target);
  return `${url.pathname}${url.search}`;
}

function noInstance(pool: UpstreamPool, res: Response): void {
  res.set('Retry-After', String(Math.max(1, Math.ceil(pool.retryInMs() / 1000))));
  sendProblem(res, 503, 'NO_UPSTREAM_AVAILABLE', `no ${pool.service} service instance is reachable`);
}

function failed(
  pool: UpstreamPool,
  instance: UpstreamInstance,
  error: unknown,
  clientGone: boolean,
  res: Response,
  logger: Logger,
): void {
  const code = codeOf(error);
  const context = { service: pool.service, upstream: instance.url, code, error: describe(error) };
  if (clientGone) {
    logger.debug('client went away during a proxied request', context);
    return void res.destroy();
  }
  if (UNREACHABLE.has(code)) instance.recordUnreachable(code, pool.options.ejectMs);
  else instance.recordFailure(code || describe(error));
  logger.warn('upstream call failed', context);
  // Once the status line has gone out, all that is left is to cut the response short.
  if (res.headersSent) return void res.destroy();
  if (UNREACHABLE.has(code)) {
    res.set('Retry-After', String(Math.max(1, Math.ceil(pool.options.ejectMs / 1000))));
    return sendProblem(res, 503, 'UPSTREAM_UNAVAILABLE', `the ${pool.service} service could not be reached`);
  }
  if (TIMED_OUT.has(code)) {
    return sendProblem(res, 504, 'UPSTREAM_TIMEOUT', `the ${pool.service} service did not answer in time`);
  }
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
    return sendProblem(res, 400, 'BAD_BODY', 'the request body does not match its Content-Length');
  }
  sendProblem(res, 502, 'BAD_GATEWAY', `the ${pool.service} service gave no valid answer`);
}

const codeOf = (error: unknown): string =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';

const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
