import { ContainerModule } from 'inversify';
import type { Clock } from '../../shared/clock.ts';
import type { Subscription } from '../../shared/messaging/event-bus.port.ts';
import { TOPICS } from '../../shared/messaging/event-envelope.ts';
import { Tokens } from '../../shared/tokens.ts';
import { withPorts } from '../../shared/with-ports.ts';
import type { ProductCacheInvalidation } from './application/ports/product-cache.port.ts';
import type { ProductMetrics } from './application/ports/product-metrics.port.ts';
import type { ProductPersistence } from './application/ports/product-persistence.port.ts';
import type { ProductUseCases } from './application/product-use-cases.ts';
import { createProduct } from './application/use-cases/create-product.use-case.ts';
import { deleteProduct } from './application/use-cases/delete-product.use-case.ts';
import { getProduct } from './application/use-cases/get-product.use-case.ts';
import { listProducts } from './application/use-cases/list-products.use-case.ts';
import { releaseStock } from './application/use-cases/release-stock.use-case.ts';
import { reserveStock } from './application/use-cases/reserve-stock.use-case.ts';
import { updateProduct } from './application/use-cases/update-product.use-case.ts';
import type { ProductFacade } from './contract.ts';
import { productRouter } from './http/product.router.ts';
import { reservationRouter } from './http/reservation.router.ts';
import { handleOrderEvent, PRODUCT_CONSUMER } from './messaging/order-events.consumer.ts';
import { invalidateProductCache } from './messaging/product-events.consumer.ts';

export const ProductTokens = {
  /** Bound by the storage adapter the configuration chose (with the product cache in front, in a role). */
  Persistence: Symbol.for('ProductPersistence'),
  /** Optional: the cache in front of the persistence port, told of changes made elsewhere; unbound, none. */
  CacheInvalidation: Symbol.for('ProductCacheInvalidation'),
  /** Optional: the business counters (bound by the composition root); unbound, nothing is counted. */
  Metrics: Symbol.for('ProductMetrics'),
  /** The use cases with their ports bound (ProductUseCases). */
  UseCases: Symbol.for('ProductUseCases'),
  Facade: Symbol.for('ProductFacade'),
  Router: Symbol.for('ProductRouter'),
  /** The internal reservation API (/internal/v1/reservations) the order service calls over HTTP. */
  ReservationRouter: Symbol.for('ProductReservationRouter'),
  Subscriptions: Symbol.for('ProductSubscriptions'),
} as const;

/**
 * The product module: its use cases, each bound to the ports (storage, clock, metrics) the container resolves,
 * and the adapters that drive them (HTTP routers, event subscriptions, the facade the order module calls).
 */
export const productModule = new ContainerModule(({ bind }) => {
  bind<ProductUseCases>(ProductTokens.UseCases)
    .toResolvedValue(
      (persistence: ProductPersistence, clock: Clock, metrics: ProductMetrics | undefined): ProductUseCases => {
        const bound = withPorts({ persistence, clock, ...(metrics ? { metrics } : {}) });
        return {
          createProduct: bound(createProduct),
          updateProduct: bound(updateProduct),
          deleteProduct: bound(deleteProduct),
          getProduct: bound(getProduct),
          listProducts: bound(listProducts),
          reserveStock: bound(reserveStock),
          releaseStock: bound(releaseStock),
        };
      },
      [ProductTokens.Persistence, Tokens.Clock, { serviceIdentifier: ProductTokens.Metrics, optional: true }],
    )
    .inSingletonScope();

  bind<ProductFacade>(ProductTokens.Facade)
    .toResolvedValue(
      (useCases: ProductUseCases): ProductFacade => ({
        reserveStock: useCases.reserveStock,
        releaseStock: async (cmd) => void (await useCases.releaseStock(cmd)),
      }),
      [ProductTokens.UseCases],
    )
    .inSingletonScope();

  bind(ProductTokens.Router)
    .toResolvedValue((useCases: ProductUseCases) => productRouter(useCases), [ProductTokens.UseCases])
    .inSingletonScope();

  bind(ProductTokens.ReservationRouter)
    .toResolvedValue((facade: ProductFacade) => reservationRouter(facade), [ProductTokens.Facade])
    .inSingletonScope();

  bind<Subscription[]>(ProductTokens.Subscriptions)
    .toResolvedValue(
      (useCases: ProductUseCases, cache: ProductCacheInvalidation | undefined, instanceId: string): Subscription[] => [
        { topic: TOPICS.orderEvents, group: PRODUCT_CONSUMER, handler: handleOrderEvent(useCases) },
        // One group per instance (broadcast): every instance must drop its own cached copies.
        ...(cache
          ? [
              {
                topic: TOPICS.productEvents,
                group: `product-cache-${instanceId}`,
                handler: invalidateProductCache(cache),
                startAt: 'latest' as const,
              },
            ]
          : []),
      ],
      [
        ProductTokens.UseCases,
        { serviceIdentifier: ProductTokens.CacheInvalidation, optional: true },
        Tokens.InstanceId,
      ],
    )
    .inSingletonScope();
});
