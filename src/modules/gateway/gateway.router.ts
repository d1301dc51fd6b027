import { Router } from 'express';
import type { Logger } from '../../shared/logger.port.ts';
import { forward } from './proxy.ts';
import { UpstreamPool, type UpstreamPoolOptions, type UpstreamTimeouts } from './upstream-pool.ts';

/**
 * The gateway role's routing: the public product and order routes go to the instances of their service, in
 * round-robin order, through keep-alive pools. It runs after the app's request id, authentication and rate
 * limits and before any body parser: proxied bodies are streamed, never parsed, and each service applies
 * the body limit and verifies the token again (the Authorization header passes untouched).
 */
export interface GatewayOptions {
  productUpstreams: readonly string[];
  orderUpstreams: readonly string[];
  logger: Logger;
  /** Defaults: connect 2 s, headers 10 s, body (idle between chunks) 30 s. */
  timeouts?: Partial<UpstreamTimeouts>;
  /** Keep-alive connections per upstream instance. Default 32. */
  connectionsPerInstance?: number;
  /** How long an instance that refused a connection stays out of the rotation. Default 2 s. */
  ejectMs?: number;
}

export interface Gateway {
  /** Mount at the app's root: it answers /api/v1/products… and /api/v1/orders…, and passes on anything else. */
  router: Router;
  upstreams: { product: UpstreamPool; order: UpstreamPool };
  /** Lets proxied calls in flight finish, then closes the upstream connections. */
  close(): Promise<void>;
}

export const DEFAULT_TIMEOUTS: UpstreamTimeouts = { connectMs: 2000, headersMs: 10_000, bodyMs: 30_000 };

export function createGateway(options: GatewayOptions): Gateway {
  const poolOptions: UpstreamPoolOptions = {
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    connectionsPerInstance: options.connectionsPerInstance ?? 32,
    ejectMs: options.ejectMs ?? 2000,
  };
  const upstreams = {
    product: new UpstreamPool('product', options.productUpstreams, poolOptions),
    order: new UpstreamPool('order', options.orderUpstreams, poolOptions),
  };

  const router = Router();
  // One route template per service (`{/*rest}`: the collection and everything under it), which also gives
  // the HTTP metrics a bounded route label.
  router.all('/api/v1/products{/*rest}', (req, res) => forward(upstreams.product, req, res, options.logger));
  router.all('/api/v1/orders{/*rest}', (req, res) => forward(upstreams.order, req, res, options.logger));

  return {
    router,
    upstreams,
    close: async () => {
      await Promise.all([upstreams.product.close(), upstreams.order.close()]);
    },
  };
}
