import type { RequestListener, ServerResponse } from 'node:http';
import express, { type Router } from 'express';
import { apiDocs } from './http/api-docs.ts';
import { type ApiKey, ApiKeyRing, type JwtSettings } from './http/auth.ts';
import { credentialsVerdict, readCredentials, writesNeedCredentials } from './http/credentials.ts';
import { declaredBody, deferredJsonBody } from './http/json-body.ts';
import type { HttpMetrics } from './http/metrics.ts';
import { errorHandler, sendError, sendProblem } from './http/problem.ts';
import { assignRequestId } from './http/request-context.ts';
import { normalTarget } from './http/request-target.ts';
import { securityHeadersStep } from './http/security-headers.ts';
import { continueTrace } from './http/trace-context.ts';
import type { Gateway, ProxiedRoute } from './gateway/gateway.router.ts';
import { routeOf } from './http/route-prefix.ts';
import { runSteps, type Step } from './pipeline.ts';
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
  /** The gateway role's proxy: it answers its routes by forwarding, bodies streamed. */
  gateway?: Gateway;
  /** The rate limits, after the credentials are read (they key on the principal) and before their verdict. */
  rateLimit?: Step;
  /** API keys accepted in `X-API-Key` (none: every API key is refused). */
  apiKeys?: readonly ApiKey[];
  /** Reverse proxies in front whose X-Forwarded-For is believed (Express `trust proxy`); default 0. */
  trustProxyHops?: number;
}

/** Which part of the edge a request is for; each kind has its own list of steps. */
type Kind = 'open' | 'api' | 'proxied' | 'internal' | 'admin';

/**
 * The HTTP edge every role serves, in two parts:
 * - one pipeline of steps, in one order, run by one runner for every request whatever answers it: request
 *   id, trace context, security headers, metrics, a target in normal form, then for the API the
 *   credentials, the rate limits (a request with bad credentials spends its IP's budget before its 401),
 *   the credentials' verdict, a principal for every write, and the body (read by the module routes after
 *   their role checks, its headers checked for proxied ones, which stream it to the services). A failing
 *   step answers through the one problem mapper.
 * - two dispatchers after it: the gateway's proxy for its routes (no Express on the gateway's hot path), and
 *   Express for everything else (health, metrics, docs, the modules' routers).
 */
export function createHttpApp(options: HttpAppOptions): RequestListener {
  const { logger, gateway } = options;
  const steps = edgeSteps(options);
  const routes = expressRoutes(options);
  const fail = (res: ServerResponse) => (error: unknown) => sendError(res, error, logger);
  return (req, res) => {
    const proxied = gateway?.route(req.url!);
    if (proxied) {
      const forward = () => gateway!.forward(proxied, req, res).catch(fail(res));
      return runSteps(steps.proxied(proxied), req, res, forward, fail(res));
    }
    runSteps(steps[kindOf(req.url!)], req, res, () => routes(req, res), fail(res));
  };
}

/** The steps of each kind of request, worked out once (for a proxied route, once per route). */
function edgeSteps(options: HttpAppOptions): Record<Exclude<Kind, 'proxied'>, Step[]> & {
  proxied: (route: ProxiedRoute) => Step[];
} {
  const security = securityHeadersStep();
  // Metrics label a request by its route template: Express's matched route, or the proxied route's own.
  const common = (metrics: Step): Step[] => [assignRequestId, continueTrace, security, metrics, normalTarget];
  const open = common(options.metrics.step());
  const credentials = readCredentials(options.jwt, new ApiKeyRing(options.apiKeys ?? []));
  const limited = options.rateLimit
    ? [credentials, options.rateLimit, credentialsVerdict]
    : [credentials, credentialsVerdict];
  const strict = [credentials, credentialsVerdict];
  const proxiedSteps = new Map<ProxiedRoute, Step[]>();
  return {
    open,
    // Module routes read their body once routing and their role checks have passed (readJson).
    api: [...open, ...limited, writesNeedCredentials, deferredJsonBody(options.bodyLimit)],
    // The gateway knows no roles: it refuses what the headers tell (type, declared size) and streams the rest.
    proxied: (route) => {
      let steps = proxiedSteps.get(route);
      if (!steps) {
        const metrics = options.metrics.stepLabelled(route.label);
        steps = [...common(metrics), ...limited, writesNeedCredentials, declaredBody(options.bodyLimit)];
        proxiedSteps.set(route, steps);
      }
      return steps;
    },
    internal: [...open, ...strict, writesNeedCredentials, deferredJsonBody(options.bodyLimit)],
    admin: [...open, ...strict],
  };
}

const PREFIXES: readonly { prefix: string; kind: Exclude<Kind, 'proxied'> }[] = [
  { prefix: '/api/v1', kind: 'api' },
  { prefix: '/internal/v1', kind: 'internal' },
  { prefix: '/gateway', kind: 'admin' },
];

/** Compared as Express routes paths (without regard to case), so no request reaches a router unguarded. */
function kindOf(target: string): Exclude<Kind, 'proxied'> {
  return routeOf(PREFIXES, target)?.kind ?? 'open';
}

/** Express, after the pipeline: routing only, and its errors through the same problem mapper. */
function expressRoutes(options: HttpAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // A hop count, never `true`: only addresses appended by our own proxies count.
  app.set('trust proxy', options.trustProxyHops ?? 0);

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
  if (options.gateway) app.use(options.gateway.router);
  mount(app, '/api/v1', options.api);
  mount(app, '/internal/v1', options.internal ?? {});
  app.use((req, res) => sendProblem(res, 404, 'ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`));
  app.use(errorHandler(options.logger));
  return app;
}

function mount(app: express.Express, base: string, routers: Record<string, Router>): void {
  for (const [path, router] of Object.entries(routers)) app.use(`${base}${path}`, router);
}
