import { ContainerModule } from 'inversify';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.port.ts';
import type { Subscription } from '../../shared/messaging/event-bus.port.ts';
import { TOPICS } from '../../shared/messaging/event-envelope.ts';
import { Tokens } from '../../shared/tokens.ts';
import type { OrderPersistence } from './application/ports/order-persistence.port.ts';
import type { ProductCatalog } from './application/ports/product-catalog.port.ts';
import type { OrderDependencies } from './application/use-cases/order-context.ts';
import { orderRouter } from './http/order.router.ts';
import { handleProductEvent, ORDER_CONSUMER } from './messaging/product-events.consumer.ts';

export const OrderTokens = {
  /** Bound by bootstrap to the storage adapter the configuration chose. */
  Persistence: Symbol.for('OrderPersistence'),
  /** Bound by bootstrap: in-process facade or HTTP client to the product service. */
  ProductCatalog: Symbol.for('ProductCatalog'),
  /** Bound by bootstrap: the configured default placement mode. */
  DefaultMode: Symbol.for('DefaultMode'),
  Dependencies: Symbol.for('OrderDependencies'),
  Router: Symbol.for('OrderRouter'),
  Subscriptions: Symbol.for('OrderSubscriptions'),
} as const;

/** The order module's use cases, HTTP router and event subscriptions, wired from the ports. */
export const orderModule = new ContainerModule(({ bind }) => {
  bind<OrderDependencies>(OrderTokens.Dependencies)
    .toResolvedValue(
      (persistence: OrderPersistence, catalog: ProductCatalog, clock: Clock, logger: Logger) => ({
        persistence,
        catalog,
        clock,
        logger,
      }),
      [OrderTokens.Persistence, OrderTokens.ProductCatalog, Tokens.Clock, Tokens.Logger],
    )
    .inSingletonScope();

  bind(OrderTokens.Router)
    .toResolvedValue(
      (deps: OrderDependencies, mode: 'sync' | 'async') => orderRouter(deps, mode),
      [OrderTokens.Dependencies, OrderTokens.DefaultMode],
    )
    .inSingletonScope();

  bind<Subscription[]>(OrderTokens.Subscriptions)
    .toResolvedValue(
      (deps: OrderDependencies): Subscription[] => [
        { topic: TOPICS.productEvents, group: ORDER_CONSUMER, handler: handleProductEvent(deps) },
      ],
      [OrderTokens.Dependencies],
    )
    .inSingletonScope();
});
