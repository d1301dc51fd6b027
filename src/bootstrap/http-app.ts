import express, { type Express, type Request, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import { type ApiKey, ApiKeyRing, authenticate, type JwtSettings } from '../adapters/http/auth.ts';
import { bodyHeaderChecks, jsonBody } from '../adapters/http/json-body.ts';
import type { HttpMetrics } from '../adapters/http/metrics.ts';
import { errorHandler, sendProblem } from '../adapters/http/problem.ts';
import { requestContext } from '../adapters/http/request-context.ts';
import { requireNormalTarget } from '../adapters/http/request-target.ts';
import { traceContext } from '../adapters/http/trace-context.ts';
import type { Logger } from '../shared/logger.port.ts';

/** A readiness check: resolves to null when the dependency is fine, else to what is wrong. */
export type ReadinessCheck = { name: string; check: () => Promise<string | null> };

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
  gateway?: Router;
  /** Middleware in front of the API routes, after authentication (rate limits, which key on the principal). */
  apiGuards?: RequestHandler[];
  /** API keys accepted in `X-API-Key` (none: every API key is refused). */
  apiKeys?: readonly ApiKey[];
  /** Reverse proxies in front whose X-Forwarded-For is believed (Express `trust proxy`); default 0. */
  trustProxyHops?: number;
}

/** The HTTP edge every role serves: health, metrics, and the API routers its modules contribute. */
export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // A hop count, never `true`: only addresses appended by our own proxies count, so a client cannot mint
  // itself fresh identities (rate-limit buckets) by sending X-Forwarded-For.
  app.set('trust proxy', options.trustProxyHops ?? 0);
  app.use(requestContext, traceContext, options.metrics.middleware(), helmet(), requireNormalTarget);
  const auth = authenticate(options.jwt, new ApiKeyRing(options.apiKeys ?? []));
  const authenticatedAndLimited = authenticateThen(auth, options.apiGuards ?? []);

  app.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/health/ready', async (_req, res) => {
    const results = await Promise.all(
      options.readiness.map(async (r) => [r.name, await r.check().catch((e: unknown) => String(e))] as const),
    );
    const failing = results.filter(([, problem]) => problem !== null);
    const checks = Object.fromEntries(results.map(([name, problem]) => [name, problem ?? 'ok']));
    if (failing.length === 0) return void res.json({ status: 'ready', checks });
    res.set('Retry-After', '5');
    sendProblem(res, 503, 'NOT_READY', `unavailable: ${failing.map(([name]) => name).join(', ')}`, { checks });
  });
  app.get('/metrics', options.metrics.handler());

  if (options.gateway) {
    // Authenticated, rate limited and checked by its headers here; parsed and limited by the services behind.
    app.use('/api/v1', ...authenticatedAndLimited, ...bodyHeaderChecks(options.bodyLimit));
    // The gateway's own admin routes (GET /gateway/upstreams) need the principal too.
    app.use('/gateway', auth);
    app.use(options.gateway);
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
  return app;
}

/**
 * Authentication, then the guards, then authentication's verdict: the rate limits key on the principal,
 * and a request with bad credentials still spends its IP's budget before it is refused, so guessing tokens
 * or API keys is rate limited too.
 */
function authenticateThen(auth: RequestHandler, guards: RequestHandler[]): RequestHandler[] {
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
