import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type Request, type RequestHandler, type Router } from 'express';
import { type ApiKey, ApiKeyRing, authenticate, type JwtSettings, principalOf } from '../adapters/http/auth.ts';
import { bodyHeaderProblem, jsonBody } from '../adapters/http/json-body.ts';
import type { HttpMetrics } from '../adapters/http/metrics.ts';
import type { Guard } from '../adapters/http/rate-limit.ts';
import { errorHandler, HttpProblem, sendHttpProblem, sendProblem } from '../adapters/http/problem.ts';
import { requestContext, requestIdOf, withRequestId } from '../adapters/http/request-context.ts';
import { requireNormalTarget, targetProblem } from '../adapters/http/request-target.ts';
import { securityHeaders, securityHeadersMiddleware, setHeaders } from '../adapters/http/security-headers.ts';
import { traceContext } from '../adapters/http/trace-context.ts';
import { apiDocs } from '../edge/http/api-docs.ts';
import type { Gateway } from '../modules/gateway/gateway.router.ts';
import type { Logger } from '../shared/logger.port.ts';

/** A readiness check: resolves to null when the dependency is fine, else to what is wrong. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<string | null>;
  /**
   * Whether the process can serve without the dependency (default false). Redis is optional this way: the
   * cache is bypassed and the rate limits count locally while it is down. A failing optional check makes
   * the process `degraded` (still 200), so load balancers and the gateway keep sending it traffic instead
   * of turning a cache outage into an outage of every service.
   */
  optional?: boolean;
}

export interface HttpAppOptions {
  logger: Logger;
  metrics: HttpMetrics;
  jwt: JwtSettings;
  bodyLimit: number;
  readiness: ReadinessCheck[];
  /** Mounted under /api/v1, e.g. { '/products': router }. */
  api: Record<string, Router>;
  /** Service-to-service routes under /internal/v1 (the product service's reservation API). */
  internal?: Record<string, Router>;
  /** The gateway role's proxy: answers /api/v1/… by forwarding, bodies streamed (no body parser in front). */
  gateway?: Gateway;
  /** In front of the API routes, after authentication (the rate limits, which key on the principal). */
  apiGuard?: Guard;
  /** API keys accepted in `X-API-Key` (none: every API key is refused). */
  apiKeys?: readonly ApiKey[];
  /** Reverse proxies in front whose X-Forwarded-For is believed (Express `trust proxy`); default 0. */
  trustProxyHops?: number;
}

/**
 * The HTTP edge every role serves: health, metrics, and the API routers its modules contribute; in the
 * gateway role, the proxied routes in front of them (see `proxiedRoutes`).
 */
export function createHttpApp(options: HttpAppOptions): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // A hop count, never `true`: only addresses appended by our own proxies count, so a client cannot mint
  // itself fresh identities (rate-limit buckets) by sending X-Forwarded-For.
  app.set('trust proxy', options.trustProxyHops ?? 0);
  const security = securityHeaders();
  app.use(requestContext, traceContext, options.metrics.middleware(), securityHeadersMiddleware(security));
  app.use(requireNormalTarget);
  const apiKeys = new ApiKeyRing(options.apiKeys ?? []);
  const auth = authenticate(options.jwt, apiKeys);
  const authenticatedAndLimited = authenticateThen(auth, options.apiGuard ? [options.apiGuard] : []);

  app.use(apiDocs());
  app.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/health/ready', async (_req, res) => {
    const results = await Promise.all(
      options.readiness.map(async (r) => ({ ...r, problem: await r.check().catch((e: unknown) => String(e)) })),
    );
    const checks = Object.fromEntries(results.map(({ name, problem }) => [name, problem ?? 'ok']));
    const failing = results.filter(({ problem, optional }) => problem !== null && !optional).map((r) => r.name);
    if (failing.length === 0) {
      const degraded = results.some(({ problem }) => problem !== null);
      return void res.json({ status: degraded ? 'degraded' : 'ready', checks });
    }
    res.set('Retry-After', '5');
    sendProblem(res, 503, 'NOT_READY', `unavailable: ${failing.join(', ')}`, { checks });
  });
  app.get('/metrics', options.metrics.handler());

  if (options.gateway) {
    // The gateway's own admin routes (GET /gateway/upstreams) need the principal.
    app.use('/gateway', auth);
    app.use(options.gateway.router);
    // The proxied routes never reach Express (see proxiedRoutes); any other /api/v1 path is still
    // authenticated and rate limited like them before it gets its 404.
    app.use('/api/v1', ...authenticatedAndLimited);
  }
  if (Object.keys(options.api).length > 0) {
    const api = express.Router();
    api.use(...authenticatedAndLimited, ...jsonBody(options.bodyLimit));
    for (const [path, router] of Object.entries(options.api)) api.use(path, router);
    app.use('/api/v1', api);
  }
  if (options.internal && Object.keys(options.internal).length > 0) {
    const internal = express.Router();
    internal.use(...jsonBody(options.bodyLimit), auth);
    for (const [path, router] of Object.entries(options.internal)) internal.use(path, router);
    app.use('/internal/v1', internal);
  }

  app.use((req, res) => sendProblem(res, 404, 'ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`));
  app.use(errorHandler(options.logger));
  if (!options.gateway) return app;
  const proxied = proxiedRoutes(options.gateway, { ...options, apiKeys, security });
  return (req, res) => {
    if (!proxied(req, res)) app(req, res);
  };
}

/**
 * The gateway role's proxied routes (/api/v1/products…, /api/v1/orders…), served straight from Node's
 * request, without Express: they are the gateway's hot path, and Express's routing and request decoration
 * were a large part of its cost per request (docs/performance.md). The steps are the ones the Express routes take, in the
 * same order, from the same functions: request id, security headers, metrics, a target in normal form,
 * credentials, rate limits (a request with bad credentials spends its IP's budget before it gets its 401),
 * then the body's declared type and size; bodies are streamed, parsed and limited by the services behind
 * (each verifies the token again: the Authorization header passes untouched).
 * Answers true when the request was on a proxied route (and is being handled), false to let Express have it.
 */
function proxiedRoutes(
  gateway: Gateway,
  options: Pick<HttpAppOptions, 'logger' | 'metrics' | 'jwt' | 'bodyLimit' | 'apiGuard'> & {
    apiKeys: ApiKeyRing;
    security: ReturnType<typeof securityHeaders>;
  },
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { logger, metrics, jwt, bodyLimit, apiGuard, apiKeys, security } = options;
  const fail = (res: ServerResponse, error: unknown) => {
    if (error instanceof HttpProblem) return sendHttpProblem(res, error);
    logger.error('unhandled error', { error: error instanceof Error ? error.message : String(error) });
    if (res.headersSent) return void res.destroy();
    sendProblem(res, 500, 'INTERNAL', 'the server could not complete the request');
  };
  return (req, res) => {
    const route = gateway.route(req.url!);
    if (!route) return false;
    const id = requestIdOf(req);
    req.id = id;
    res.setHeader('X-Request-Id', id);
    setHeaders(res, security);
    metrics.track(res, req.method!, () => route.label);
    withRequestId(id, () => {
      const malformed = targetProblem(req.url!);
      if (malformed) return sendHttpProblem(res, malformed);
      let refused: unknown;
      try {
        req.principal = principalOf(req, jwt, apiKeys);
      } catch (error) {
        refused = error;
      }
      const onward = (error?: unknown) => {
        const problem = error ?? refused ?? bodyHeaderProblem(req, bodyLimit);
        if (problem) return fail(res, problem);
        gateway.forward(route, req, res).catch((e: unknown) => fail(res, e));
      };
      if (apiGuard) apiGuard(req, res, onward);
      else onward();
    });
    return true;
  };
}

/**
 * Authentication, then the guards, then authentication's verdict: the rate limits key on the principal,
 * and a request with bad credentials still spends its IP's budget before it is refused, so guessing tokens
 * or API keys is rate limited too.
 */
function authenticateThen(auth: RequestHandler, guards: Guard[]): RequestHandler[] {
  if (guards.length === 0) return [auth];
  const refused = new WeakMap<Request, unknown>();
  const attempt: RequestHandler = (req, res, next) => {
    let done = false;
    const onward = (error?: unknown) => {
      if (done) return; // `auth` threw after handing on: the request is already on its way
      done = true;
      if (error) refused.set(req, error);
      next();
    };
    try {
      auth(req, res, onward);
    } catch (error) {
      onward(error);
    }
  };
  const verdict: RequestHandler = (req, _res, next) => next(refused.get(req));
  return [attempt, ...guards, verdict];
}
