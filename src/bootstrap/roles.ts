import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import { Container } from 'inversify';
import { HttpMetrics } from '../edge/http/metrics.ts';
import { createRateLimits } from '../edge/http/rate-limit.ts';
import { redisProblem } from '../adapters/cache/redis/redis-client.ts';
import { InProcessEventBus } from '../adapters/messaging/in-process/in-process-event-bus.ts';
import { HttpProductCatalog } from '../adapters/product-catalog/http-product-catalog.ts';
import { createGateway, type Gateway } from '../edge/gateway/gateway.router.ts';
import { InProcessProductCatalog } from '../adapters/product-catalog/in-process-product-catalog.ts';
import type { OutboxRelay } from '../adapters/messaging/outbox-relay.ts';
import { MikroOrmOrderPersistence } from '../adapters/persistence/mikro-orm/order/mikro-orm-order-persistence.ts';
import { MikroOrmProductPersistence } from '../adapters/persistence/mikro-orm/product/mikro-orm-product-persistence.ts';
import { OrderTokens, orderModule } from '../modules/order/order.module.ts';
import type { ProductFacade } from '../modules/product/contract.ts';
import { ProductTokens, productModule } from '../modules/product/product.module.ts';
import { systemClock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.port.ts';
import type { EventBus, Subscription } from '../shared/messaging/event-bus.port.ts';
import { Tokens } from '../shared/tokens.ts';
import type { Config } from './config.schema.ts';
import { createHttpApp, type ReadinessCheck } from '../edge/http-app.ts';
import { serveHttp } from './http-server.ts';
import { createCache, createEventBus, createRedis, moduleStorage } from './infrastructure.ts';
import { Lifecycle } from './lifecycle.ts';
import { explainKafkaFailure } from './startup-failure.ts';
import { jwtSettings } from './signing-key.ts';

export interface RunningRole {
  config: Config;
  url: string;
  container: Container;
  bus: EventBus;
  relays: OutboxRelay[];
  stop(): Promise<void>;
}

/**
 * Which modules run in which role. The only place that knows the shapes of the running system. `edge`: the
 * role faces clients directly, so it rate limits (the services behind the gateway see only the gateway).
 */
const ROLE_MODULES = {
  monolith: { product: true, order: true, gateway: false, edge: true },
  product: { product: true, order: false, gateway: false, edge: false },
  order: { product: false, order: true, gateway: false, edge: false },
  gateway: { product: false, order: false, gateway: true, edge: true },
} as const;

/**
 * Composes and starts one role: adapters chosen by configuration, modules loaded into the container,
 * subscriptions registered, relays started, HTTP listening. Returns how to stop it all in order.
 */
export async function startRole(config: Config, logger: Logger): Promise<RunningRole> {
  const lifecycle = new Lifecycle(logger);
  try {
    return await compose(config, logger, lifecycle);
  } catch (error) {
    await lifecycle.stop();
    throw error;
  }
}

async function compose(config: Config, logger: Logger, lifecycle: Lifecycle): Promise<RunningRole> {
  const jwt = jwtSettings(config);
  const modules = ROLE_MODULES[config.role];
  const container = new Container();
  // The gateway publishes and consumes nothing: it gets an idle in-process bus and no broker connection.
  const usesEvents = modules.product || modules.order;
  const bus = usesEvents ? await createEventBus(config, logger, lifecycle) : new InProcessEventBus(logger);
  container.bind(Tokens.Clock).toConstantValue(systemClock);
  container.bind(Tokens.Logger).toConstantValue(logger);
  container.bind(Tokens.EventBus).toConstantValue(bus);
  // Its own databases first: a role that cannot open them fails before it connects to anything else.
  const productStorage = modules.product ? await moduleStorage(config, 'product', bus, logger, lifecycle) : undefined;
  const orderStorage = modules.order ? await moduleStorage(config, 'order', bus, logger, lifecycle) : undefined;
  const redis = await createRedis(config, logger, lifecycle);
  container.bind(Tokens.Cache).toConstantValue(createCache(config, redis, logger));
  container.bind(Tokens.InstanceId).toConstantValue(`${config.role}-${randomUUID().slice(0, 8)}`);

  const readiness: ReadinessCheck[] = usesEvents ? [{ name: 'event-bus', check: async () => bus.problem() }] : [];
  if (redis) readiness.push({ name: 'redis', check: () => redisProblem(redis), optional: true });
  const relays: OutboxRelay[] = [];
  const api: Record<string, Router> = {};
  const internal: Record<string, Router> = {};
  const subscriptions: Subscription[] = [];

  if (productStorage) {
    container
      .bind(ProductTokens.Persistence)
      .toConstantValue(new MikroOrmProductPersistence(productStorage.orm, () => productStorage.relay.nudge()));
    container.load(productModule);
    relays.push(productStorage.relay);
    readiness.push({ name: 'product-db', check: productStorage.ping });
    api['/products'] = container.get<Router>(ProductTokens.Router);
    // Only for the order service in another process; in one process the order module calls the facade.
    if (!modules.order) internal['/reservations'] = container.get<Router>(ProductTokens.ReservationRouter);
    subscriptions.push(...container.get<Subscription[]>(ProductTokens.Subscriptions));
  }

  if (orderStorage) {
    container
      .bind(OrderTokens.Persistence)
      .toConstantValue(new MikroOrmOrderPersistence(orderStorage.orm, () => orderStorage.relay.nudge()));
    container.bind(OrderTokens.DefaultMode).toConstantValue(config.mode);
    if (modules.product) {
      container
        .bind(OrderTokens.ProductCatalog)
        .toResolvedValue((facade: ProductFacade) => new InProcessProductCatalog(facade), [ProductTokens.Facade]);
    } else {
      const catalog = new HttpProductCatalog({ baseUrl: config.productUrl, jwt, logger });
      lifecycle.onStop('producers', 'product-catalog', () => catalog.close());
      container.bind(OrderTokens.ProductCatalog).toConstantValue(catalog);
    }
    container.load(orderModule);
    relays.push(orderStorage.relay);
    readiness.push({ name: 'order-db', check: orderStorage.ping });
    api['/orders'] = container.get<Router>(OrderTokens.Router);
    subscriptions.push(...container.get<Subscription[]>(OrderTokens.Subscriptions));
  }

  const metrics = new HttpMetrics(config.role);
  let gateway: Gateway | undefined;
  if (modules.gateway) {
    gateway = createGateway({
      productUpstreams: config.productUpstreams,
      orderUpstreams: config.orderUpstreams,
      logger,
      bodyLimit: config.bodyLimit,
      registry: metrics.registry,
      timeouts: { headersMs: config.upstreamTimeoutMs },
    });
    // After the HTTP server has drained, so proxied calls in flight can finish.
    lifecycle.onStop('producers', 'gateway-upstreams', () => gateway!.close());
  }

  for (const subscription of subscriptions) bus.subscribe(subscription);
  // Creates or verifies the topics first: a broker that is down or short topics fail the start, worded.
  await bus.start().catch((error: unknown) => {
    throw explainKafkaFailure(error);
  });
  for (const relay of relays) relay.start();

  const rateLimits = modules.edge
    ? createRateLimits({
        read: config.rateLimitRead,
        write: config.rateLimitWrite,
        redis,
        keyPrefix: `${config.redisKeyPrefix}rl:`,
        logger,
        trustProxyHops: config.trustProxyHops,
      })
    : undefined;
  // Before Redis closes (storage): the counts still pending are flushed to it.
  if (rateLimits) lifecycle.onStop('producers', 'rate-limits', () => rateLimits.close());

  const app = createHttpApp({
    logger,
    metrics,
    jwt,
    bodyLimit: config.bodyLimit,
    readiness,
    api,
    internal,
    gateway,
    rateLimit: rateLimits?.guard,
    apiKeys: config.apiKeys,
    trustProxyHops: config.trustProxyHops,
  });
  const listener = await serveHttp(app, config, logger);
  lifecycle.onStop('http', 'http-server', () => listener.close());
  const { url } = listener;
  logger.info('listening', { role: config.role, mode: config.mode, storage: config.storage, bus: config.bus, url });
  return { config, url, container, bus, relays, stop: () => lifecycle.stop() };
}
