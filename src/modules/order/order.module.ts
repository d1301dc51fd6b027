import { ContainerModule } from 'inversify';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.port.ts';
import type { Subscription } from '../../shared/messaging/event-bus.port.ts';
import { TOPICS } from '../../shared/messaging/event-envelope.ts';
import { Tokens } from '../../shared/tokens.ts';
import { withPorts } from '../../shared/with-ports.ts';
import type { OrderUseCases } from './application/order-use-cases.ts';
import type { OrderMetrics } from './application/ports/order-metrics.port.ts';
import type { OrderPersistence, PlacementMode } from './application/ports/order-persistence.port.ts';
import type { ProductCatalog } from './application/ports/product-catalog.port.ts';
import { cancelOrder } from './application/use-cases/cancel-order.use-case.ts';
import { getOrder } from './application/use-cases/get-order.use-case.ts';
import { listOrders } from './application/use-cases/list-orders.use-case.ts';
import { placeOrder } from './application/use-cases/place-order.use-case.ts';
import { settleOrder } from './application/use-cases/settle-order.use-case.ts';
import { updateCatalogReplica } from './application/use-cases/update-catalog-replica.use-case.ts';
import { orderRouter } from './http/order.router.ts';
import { handleProductEvent, ORDER_CONSUMER } from './messaging/product-events.consumer.ts';

export const OrderTokens = {
  /** Bound by the storage adapter the configuration chose. */
  Persistence: Symbol.for('OrderPersistence'),
  /** Bound by the catalog adapter: the product module in process, or the product service over HTTP. */
  ProductCatalog: Symbol.for('ProductCatalog'),
  /** The configured default placement mode. */
  DefaultMode: Symbol.for('DefaultMode'),
  /** Optional: the business counters (bound by the composition root); unbound, nothing is counted. */
  Metrics: Symbol.for('OrderMetrics'),
  /** The use cases with their ports bound (OrderUseCases). */
  UseCases: Symbol.for('OrderUseCases'),
  Router: Symbol.for('OrderRouter'),
  Subscriptions: Symbol.for('OrderSubscriptions'),
} as const;

/**
 * The order module: its use cases, each bound to the ports (storage, product catalog, clock, logger) the
 * container resolves, and the adapters that drive them (the HTTP router, the product-events subscription).
 */
export const orderModule = new ContainerModule(({ bind }) => {
  bind<OrderUseCases>(OrderTokens.UseCases)
    .toResolvedValue(
      (
        persistence: OrderPersistence,
        catalog: ProductCatalog,
        clock: Clock,
        logger: Logger,
        metrics: OrderMetrics | undefined,
      ): OrderUseCases => {
        const bound = withPorts({ persistence, catalog, clock, logger, ...(metrics ? { metrics } : {}) });
        return {
          placeOrder: bound(placeOrder),
          cancelOrder: bound(cancelOrder),
          getOrder: bound(getOrder),
          listOrders: bound(listOrders),
          settleOrder: bound(settleOrder),
          updateCatalogReplica: bound(updateCatalogReplica),
        };
      },
      [
        OrderTokens.Persistence,
        OrderTokens.ProductCatalog,
        Tokens.Clock,
        Tokens.Logger,
        { serviceIdentifier: OrderTokens.Metrics, optional: true },
      ],
    )
    .inSingletonScope();

  bind(OrderTokens.Router)
    .toResolvedValue(
      (useCases: OrderUseCases, mode: PlacementMode) => orderRouter(useCases, mode),
      [OrderTokens.UseCases, OrderTokens.DefaultMode],
    )
    .inSingletonScope();

  bind<Subscription[]>(OrderTokens.Subscriptions)
    .toResolvedValue(
      (useCases: OrderUseCases): Subscription[] => [
        { topic: TOPICS.productEvents, group: ORDER_CONSUMER, handler: handleProductEvent(useCases) },
      ],
      [OrderTokens.UseCases],
    )
    .inSingletonScope();
});
