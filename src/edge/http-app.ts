import { IncomingMessage, type RequestListener, ServerResponse, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import express, { type Router } from 'express';
import { apiDocs } from './http/api-docs.ts';
import { type ApiKey, ApiKeyRing, type JwtSettings, type ManagedApiKeys } from './http/auth.ts';
import { credentialsVerdict, readCredentials, writesNeedCredentials } from './http/credentials.ts';
import { declaredBody, deferredJsonBody } from './http/json-body.ts';
import type { HttpMetrics } from './http/metrics.ts';
import { errorHandler, HttpProblem, sendError, sendProblem } from './http/problem.ts';
import { assignRequestId } from './http/request-context.ts';
import { normalTarget } from './http/request-target.ts';
import { securityHeadersStep } from './http/security-headers.ts';
import { accessLogStep } from './http/access-log.ts';
import { continueTrace } from './http/trace-context.ts';
import type { Gateway, ProxiedRoute } from './gateway/gateway.router.ts';
import { routeOf } from './http/route-prefix.ts';
import { moduleMounts } from './module-mounts.ts';
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
  /** Managed API keys (the access module), accepted in `X-API-Key` besides the configured ones. */
  managedApiKeys?: ManagedApiKeys | undefined;
  /** Reverse proxies in front whose X-Forwarded-For is believed (Express `trust proxy`); default 0. */
  trustProxyHops?: number;
  /** Write an access log line per request (only when the log level lets `http` lines through). */
  accessLog?: boolean;
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
 *   Express for everything else: the modules' Express routers, each handed its requests by the mount the
 *   edge matched already (see moduleMounts), and the app for the rest (health, metrics, docs, 404).
 * The server should make its requests and responses as `serverOptions` says (Express's shapes from the start).
 */
export function createHttpApp(options: HttpAppOptions): HttpApp {
  const { logger, gateway } = options;
  const steps = edgeSteps(options);
  const routers = moduleRouters(options);
  const routes = expressRoutes(options, routers);
  const targets = targetTable(options);
  const fail = (error: unknown, _req: IncomingMessage, res: ServerResponse) => sendError(res, error, logger);
  const toModule = moduleMounts(routes, routers, (error, req, res) =>
    error === undefined ? notFound(req, res) : sendError(res, error, logger),
  );
  // Express's own final handler is never reached (the app ends with a 404 and the problem mapper); passing
  // one spares it building its default per request.
  const dispatch = (req: IncomingMessage, res: ServerResponse) =>
    toModule(req, res) ||
    routes(req as express.Request, res as express.Response, (error?: unknown) =>
      sendError(res, error ?? new HttpProblem(404, 'ROUTE_NOT_FOUND', 'no route'), logger),
    );
  const forward = (req: IncomingMessage, res: ServerResponse) =>
    void gateway!.forward(req.proxiedRoute!, req, res).catch((error: unknown) => sendError(res, error, logger));
  const listener: RequestListener = (req, res) => {
    const proxied = gateway?.route(req.url!);
    if (proxied) {
      req.proxiedRoute = proxied;
      return runSteps(steps.proxied(proxied), req, res, forward, fail);
    }
    const target = routeOf(targets, req.url!);
    if (target?.mount) req.mountPath = target.prefix;
    runSteps(steps[target?.kind ?? 'open'], req, res, dispatch, fail);
  };
  return Object.assign(listener, { serverOptions: expressShapedMessages(routes) });
}

/** The edge's request listener, and how the server that calls it should make its requests and responses. */
export type HttpApp = RequestListener & {
  serverOptions: Pick<ServerOptions, 'IncomingMessage' | 'ServerResponse'>;
};

/**
 * Node's request and response, made with the Express app's own prototypes from the start (for
 * `http.createServer(options)`). Express gives every request it dispatches those prototypes
 * (`Object.setPrototypeOf` on the request and the response): about 2 µs a request by itself, and objects
 * whose shape changes halfway through the request, which every function that sees them before and after
 * pays for again (measured: about 8 µs of CPU per product read served from the cache, of 39). Built with
 * them, Express's step changes nothing. Nothing else minds: a request served without Express (the gateway's
 * proxied ones) merely carries Express's helpers unused; Express overrides none of Node's own methods.
 */
function expressShapedMessages(app: express.Express): HttpApp['serverOptions'] {
  function Request(socket: Socket): IncomingMessage {
    return Reflect.construct(IncomingMessage, [socket], Request) as IncomingMessage;
  }
  Request.prototype = app.request;
  function Response(req: IncomingMessage, options?: unknown): ServerResponse {
    return Reflect.construct(ServerResponse, [req, options], Response) as ServerResponse;
  }
  Response.prototype = app.response;
  return {
    IncomingMessage: Request as unknown as typeof IncomingMessage,
    ServerResponse: Response as unknown as typeof ServerResponse,
  };
}

declare module 'node:http' {
  interface IncomingMessage {
    /** The gateway's route for a request it proxies. */
    proxiedRoute?: ProxiedRoute;
  }
}

/** The steps of each kind of request, worked out once (for a proxied route, once per route). */
function edgeSteps(options: HttpAppOptions): Record<Exclude<Kind, 'proxied'>, Step[]> & {
  proxied: (route: ProxiedRoute) => Step[];
} {
  const security = securityHeadersStep();
  // Metrics label a request by its route template: Express's matched route, or the proxied route's own.
  const accessLog = options.accessLog ? [accessLogStep(options.logger, options.trustProxyHops ?? 0)] : [];
  const common = (metrics: Step): Step[] => [
    assignRequestId,
    continueTrace,
    security,
    metrics,
    ...accessLog,
    normalTarget,
  ];
  const open = common(options.metrics.step());
  const apiKeys = new ApiKeyRing(options.apiKeys ?? [], options.managedApiKeys);
  const credentials = readCredentials(options.jwt, apiKeys);
  const limited = options.rateLimit
    ? [credentials, options.rateLimit, credentialsVerdict]
    : [credentials, credentialsVerdict];
  const strict = [credentials, credentialsVerdict];
  // The internal API takes service tokens only (verified with the service key set, in asymmetric mode).
  const internalCredentials = readCredentials(options.jwt, apiKeys, 'internal');
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
    internal: [
      ...open,
      internalCredentials,
      credentialsVerdict,
      writesNeedCredentials,
      deferredJsonBody(options.bodyLimit),
    ],
    admin: [...open, ...strict],
  };
}

interface Target {
  prefix: string;
  kind: Exclude<Kind, 'proxied'>;
  /** A module router is mounted there. */
  mount?: true;
}

/** The module routers by where they are mounted: `/api/v1/products`, `/internal/v1/reservations`, … */
function moduleRouters(options: HttpAppOptions): Map<string, Router> {
  const under = (base: string, routers: Record<string, Router> = {}) =>
    Object.entries(routers).map(([path, router]) => [`${base}${path}`.toLowerCase(), router] as const);
  return new Map([...under('/api/v1', options.api), ...under('/internal/v1', options.internal)]);
}

/**
 * Where a request goes, by the prefix of its path, compared as Express compares routes (without regard to
 * case), so no request reaches a router unguarded: the module routers' mounts (each request learns its
 * mount: its steps, its router and its metrics label follow from it), then the prefixes that pick the steps.
 */
function targetTable(options: HttpAppOptions): Target[] {
  const mounts = (base: string, kind: Target['kind'], routers: Record<string, Router> = {}): Target[] =>
    Object.keys(routers).map((path) => ({ prefix: `${base}${path}`.toLowerCase(), kind, mount: true }));
  return [
    ...mounts('/api/v1', 'api', options.api),
    ...mounts('/internal/v1', 'internal', options.internal),
    { prefix: '/api/v1', kind: 'api' },
    { prefix: '/internal/v1', kind: 'internal' },
    { prefix: '/gateway', kind: 'admin' },
  ];
}

/**
 * Express, after the pipeline: routing only, and its errors through the same problem mapper. The module
 * routers are reached through `moduleMounts` (their mounts here serve the rare absolute-form target).
 */
function expressRoutes(options: HttpAppOptions, routers: ReadonlyMap<string, Router>): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // A hop count, never `true`: only addresses appended by our own proxies count.
  app.set('trust proxy', options.trustProxyHops ?? 0);

  for (const [path, router] of routers) app.use(path, router);
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
  app.use(notFound);
  app.use(errorHandler(options.logger));
  return app;
}

/** The app's answer to a request no route took (also after a module router that took none). */
const notFound = (req: IncomingMessage, res: ServerResponse): void =>
  sendProblem(res, 404, 'ROUTE_NOT_FOUND', `no route for ${req.method} ${(req as express.Request).path}`);
