import express, { type Express, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import { authenticate, type JwtSettings } from '../adapters/http/auth.ts';
import { jsonBody } from '../adapters/http/json-body.ts';
import type { HttpMetrics } from '../adapters/http/metrics.ts';
import { errorHandler, sendProblem } from '../adapters/http/problem.ts';
import { requestContext } from '../adapters/http/request-context.ts';
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
  /** Middleware in front of the API routes (rate limits). */
  apiGuards?: RequestHandler[];
}

/** The HTTP edge every role serves: health, metrics, and the API routers its modules contribute. */
export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestContext, traceContext, options.metrics.middleware(), helmet());

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
    // Authenticated and rate limited here, parsed and limited by the services behind it.
    app.use('/api/v1', ...(options.apiGuards ?? []), authenticate(options.jwt));
    app.use(options.gateway);
  }
  if (Object.keys(options.api).length > 0) {
    const api = express.Router();
    api.use(...(options.apiGuards ?? []), ...jsonBody(options.bodyLimit), authenticate(options.jwt));
    for (const [path, router] of Object.entries(options.api)) api.use(path, router);
    app.use('/api/v1', api);
  }
  if (options.internal && Object.keys(options.internal).length > 0) {
    const internal = express.Router();
    internal.use(...jsonBody(options.bodyLimit), authenticate(options.jwt));
    for (const [path, router] of Object.entries(options.internal)) internal.use(path, router);
    app.use('/internal/v1', internal);
  }

  app.use((req, res) => sendProblem(res, 404, 'ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`));
  app.use(errorHandler(options.logger));
  return app;
}
