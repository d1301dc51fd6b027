import type { RequestListener } from 'node:http';
import type { ContainerModule } from 'inversify';
import { Container } from 'inversify';
import type { OutboxRelay } from '../adapters/messaging/outbox-relay.ts';
import { orderModule } from '../modules/order/order.module.ts';
import { productModule } from '../modules/product/product.module.ts';
import type { Logger } from '../shared/logger.port.ts';
import type { EventBus, Subscription } from '../shared/messaging/event-bus.port.ts';
import { Tokens } from '../shared/tokens.ts';
import type { Config } from './config.schema.ts';
import { serveHttp } from './http-server.ts';
import { Lifecycle } from './lifecycle.ts';
import { ROLE_TABLE } from './role-table.ts';
import { startTracing } from './tracing.ts';
import { explainKafkaFailure } from './startup-failure.ts';
import { BootTokens } from './wiring/boot-tokens.ts';
import { cacheModule, productCacheModule } from './wiring/cache.module.ts';
import { httpCatalogModule, inProcessCatalogModule } from './wiring/catalog.module.ts';
import { edgeModule, gatewayModule, rateLimitsModule } from './wiring/edge.module.ts';
import { eventBusModule, noEventsModule } from './wiring/messaging.module.ts';
import { businessMetricsModule } from './wiring/metrics.module.ts';
import { orderRoutesModule, productRoutesModule } from './wiring/module-routes.module.ts';
import { platformModule } from './wiring/platform.module.ts';
import { storageModule } from './wiring/storage.module.ts';
import { accessWiring } from './wiring/access.module.ts';
import { accessModule } from '../modules/access/access.module.ts';
import type { RoutedDeadLetterStore } from '../adapters/messaging/in-process/routed-dead-letter-store.ts';
import { importDeadLetterFile } from './dead-letters.ts';

export interface RunningRole {
  config: Config;
  /** Empty for a role started without HTTP (`serve: false`). */
  url: string;
  container: Container;
  bus: EventBus;
  relays: OutboxRelay[];
  stop(): Promise<void>;
}

/** A role, as the ContainerModules that make it: the role table's shape turned into bindings. */
function roleModules(config: Config): ContainerModule[] {
  const shape = ROLE_TABLE[config.role];
  const has = (module: 'product' | 'order') => (shape.modules as readonly string[]).includes(module);
  const modules: ContainerModule[] = [cacheModule, edgeModule, businessMetricsModule];
  if (shape.modules.length > 0) modules.push(eventBusModule);
  else modules.push(noEventsModule);
  if (has('product')) {
    modules.push(
      storageModule('product'),
      productCacheModule,
      productModule,
      productRoutesModule({ internalApi: !has('order') }),
    );
  }
  if (has('order')) {
    modules.push(storageModule('order'), orderModule, orderRoutesModule);
    modules.push(has('product') ? inProcessCatalogModule : httpCatalogModule);
  }
  if (shape.gateway) modules.push(gatewayModule);
  if (shape.public) modules.push(rateLimitsModule);
  if (shape.access) modules.push(accessModule, accessWiring);
  return modules;
}

export interface StartOptions {
  /**
   * false: databases, bus and subscriptions only, no relays and no HTTP, for a command that works beside a
   * running role on its data (`hexashop dlq replay`); the running role's relays publish what it writes.
   */
  serve?: boolean;
}

/**
 * Composes and starts one role: its modules loaded into one container, then, in this order, its databases
 * (a role that cannot open them fails before it connects to anything else), its subscriptions and bus, its
 * relays, and HTTP. Returns how to stop it all, in the order the lifecycle keeps.
 */
export async function startRole(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningRole> {
  const lifecycle = new Lifecycle(logger);
  try {
    startTracing(config, lifecycle);
    const container = new Container();
    container.load(platformModule(config, logger, lifecycle), ...roleModules(config));
    await container.getAllAsync(BootTokens.Database, { optional: true });
    const bus = await container.getAsync<EventBus>(Tokens.EventBus);
    const subscriptions = await container.getAllAsync<Subscription[]>(BootTokens.Subscriptions, { optional: true });
    for (const subscription of subscriptions.flat()) bus.subscribe(subscription);
    // Creates or verifies the topics first: a broker that is down or short topics fail the start, worded.
    await bus.start().catch((error: unknown) => {
      throw explainKafkaFailure(error);
    });
    const deadLetters = await container.getAsync<RoutedDeadLetterStore>(BootTokens.DeadLetters, { optional: true });
    if (deadLetters?.attached && config.bus === 'in-process') await importDeadLetterFile(config, deadLetters, logger);
    if (options.serve === false) {
      return { config, url: '', container, bus, relays: [], stop: () => lifecycle.stop() };
    }
    const relays = await container.getAllAsync<OutboxRelay>(BootTokens.OutboxRelay, { optional: true });
    for (const relay of relays) relay.start();
    const listener = await serveHttp(await container.getAsync<RequestListener>(BootTokens.HttpApp), config, logger);
    lifecycle.onStop('http', 'http-server', () => listener.close());
    const { role, mode, storage, bus: busKind } = config;
    logger.info('listening', { role, mode, storage, bus: busKind, url: listener.url });
    return { config, url: listener.url, container, bus, relays, stop: () => lifecycle.stop() };
  } catch (error) {
    await lifecycle.stop();
    throw error;
  }
}
