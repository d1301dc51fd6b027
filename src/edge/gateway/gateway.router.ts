import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router } from 'express';
import type { Registry } from 'prom-client';
import { requireRole } from '../http/auth.ts';
import type { Logger } from '../../shared/logger.port.ts';
import { DEFAULT_HEALTH_CHECK, type HealthCheckOptions } from './active-health-check.ts';
import { DEFAULT_EJECTION, type EjectionOptions } from './passive-ejection.ts';
import { forward, type ProxyOptions } from './proxy.ts';
import {
  type BreakerOptions,
  DEFAULT_BREAKER,
  type InstanceOptions,
  type InstanceSnapshot,
  type UpstreamTimeouts,
} from './upstream-instance.ts';
import { registerUpstreamMetrics } from './upstream-metrics.ts';
import { type PoolChange, UpstreamPool } from './upstream-pool.ts';
import type { ReloadableUpstreams, UpstreamSet } from './upstreams-file.ts';
import { routeOf } from '../http/route-prefix.ts';

/**
 * The gateway role's routing: the public product and order routes go to the instances of their service,
 * round-robin over the available ones, through keep-alive pools, with health checks, circuit breakers and
 * one retry on another instance where that is safe. It runs after the app's request id, authentication and
 * rate limits and before any body parser: proxied bodies are streamed, never parsed, and each service
 * applies the body limit and verifies the token again (the Authorization header passes untouched).
 * It also serves GET /gateway/upstreams, admin only: the state of every instance. Like the API routes it
 * relies on the app to have authenticated the request (createHttpApp does, for /gateway/*): without a
 * principal it answers 401.
 */
export interface GatewayOptions {
  productUpstreams: readonly string[];
  orderUpstreams: readonly string[];
  logger: Logger;
  /** Defaults: connect 2 s, headers (the upstream timeout) 10 s, body (idle between chunks) 30 s. */
  timeouts?: Partial<UpstreamTimeouts>;
  /** Keep-alive connections per upstream instance. Default 32. */
  connectionsPerInstance?: number;
  /** Active checks of each instance's readiness. Default: /health/ready every 2 s, 1 s timeout, 2 to flip. */
  health?: Partial<HealthCheckOptions>;
  /** Passive ejection. Default: 1 s, doubling per ejection in a row up to 30 s; after 3 failures in a row. */
  ejection?: Partial<EjectionOptions>;
  /** Circuit breaker per instance. Default: opens above 50 % failures of ≥ 10 calls in 10 s; half-opens after 5 s. */
  breaker?: Partial<BreakerOptions>;
  /** The largest retryable (Idempotency-Key) body held for a retry; larger ones get 413. Default 1 MiB. */
  bodyLimit?: number;
  /** Where the upstream metrics are registered (the role's /metrics registry). */
  registry?: Registry;
  /** Replaces an accepted API key by a bearer token the services verify (see apiKeyBearer). */
  vouchForApiKey?: ProxyOptions['vouchForApiKey'];
}

export type UpstreamStatus = Record<string, InstanceSnapshot[]>;

/** A public path prefix and the service that answers it. */
export interface ProxiedRoute {
  /** The metrics label of every request on the route (a bounded route template). */
  label: string;
  pool: UpstreamPool;
}

export interface Gateway extends ReloadableUpstreams {
  /** The proxied route a request target belongs to, if any (see `routeOf`). */
  route(target: string): ProxiedRoute | undefined;
  /** Forwards a request on one of the routes (authenticated, limited and checked by the caller). */
  forward(route: ProxiedRoute, req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Mount at the app's root: it answers GET /gateway/upstreams (admin only). */
  router: Router;
  upstreams: { product: UpstreamPool; order: UpstreamPool };
  /** Every instance's health, breaker state and counts, by service. */
  status(): UpstreamStatus;
  /**
   * Replaces both services' instances at once (see UpstreamPool.replace): new requests go to the new set,
   * requests in flight finish where they are, an instance whose URL stays keeps its state.
   */
  reload(upstreams: UpstreamSet): Record<keyof UpstreamSet, PoolChange>;
  /** Stops the health checks, lets proxied calls in flight finish, then closes the upstream connections. */
  close(): Promise<void>;
}

export const DEFAULT_TIMEOUTS: UpstreamTimeouts = { connectMs: 2000, headersMs: 10_000, bodyMs: 30_000 };

export function createGateway(options: GatewayOptions): Gateway {
  const instanceOptions: InstanceOptions = {
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    connectionsPerInstance: options.connectionsPerInstance ?? 32,
    health: { ...DEFAULT_HEALTH_CHECK, ...options.health },
    ejection: { ...DEFAULT_EJECTION, ...options.ejection },
    breaker: { ...DEFAULT_BREAKER, ...options.breaker },
    logger: options.logger,
  };
  const upstreams = {
    product: new UpstreamPool('product', options.productUpstreams, instanceOptions),
    order: new UpstreamPool('order', options.orderUpstreams, instanceOptions),
  };
  const pools = [upstreams.product, upstreams.order];
  if (options.registry) registerUpstreamMetrics(options.registry, pools);
  const status = (): UpstreamStatus => Object.fromEntries(pools.map((p) => [p.service, p.snapshot()]));

  const proxy: ProxyOptions = {
    logger: options.logger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    ...(options.vouchForApiKey ? { vouchForApiKey: options.vouchForApiKey } : {}),
  };
  // One route per service: the collection and everything under it. The label is the route template the
  // HTTP metrics use.
  const routes = [
    { prefix: '/api/v1/products', label: '/api/v1/products{/*rest}', pool: upstreams.product },
    { prefix: '/api/v1/orders', label: '/api/v1/orders{/*rest}', pool: upstreams.order },
  ];
  const router = Router();
  router.get('/gateway/upstreams', requireRole('admin'), (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ upstreams: status() });
  });

  // Instances a reload dropped, still finishing their requests: close() waits for them too.
  const draining = new Set<Promise<void>>();
  for (const pool of pools) pool.startHealthChecks();
  return {
    route: (target) => routeOf(routes, target),
    forward: (route, req, res) => forward(route.pool, req, res, proxy),
    router,
    upstreams,
    status,
    reload: (next) => {
      const product = upstreams.product.replace(next.product);
      const order = upstreams.order.replace(next.order);
      draining.add(product.drained).add(order.drained);
      const done = (p: Promise<void>) => () => draining.delete(p);
      void product.drained.finally(done(product.drained));
      void order.drained.finally(done(order.drained));
      return { product: product.change, order: order.change };
    },
    close: async () => {
      await Promise.all([...pools.map((p) => p.close()), ...draining]);
    },
  };
}
