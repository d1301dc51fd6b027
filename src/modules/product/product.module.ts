import { ContainerModule } from 'inversify';
import type { Cache } from '../../shared/cache.port.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Subscription } from '../../shared/messaging/event-bus.port.ts';
import { TOPICS } from '../../shared/messaging/event-envelope.ts';
import { Tokens } from '../../shared/tokens.ts';
import type { ProductPersistence } from './application/ports/product-persistence.port.ts';
import type { ProductDependencies } from './application/use-cases/product-context.ts';
import { releaseStock } from './application/use-cases/release-stock.use-case.ts';
import { reserveStock } from './application/use-cases/reserve-stock.use-case.ts';
import type { ProductFacade } from './contract.ts';
import { productRouter } from './http/product.router.ts';
import { reservationRouter } from './http/reservation.router.ts';
import { handleOrderEvent, PRODUCT_CONSUMER } from './messaging/order-events.consumer.ts';
import { invalidateProductCache } from './messaging/product-events.consumer.ts';

export const ProductTokens = {
  /** Bound by bootstrap to the storage adapter the configuration chose. */
  Persistence: Symbol.for('ProductPersistence'),
  Dependencies: Symbol.for('ProductDependencies'),
  Facade: Symbol.for('ProductFacade'),
  Router: Symbol.for('ProductRouter'),
  /** The internal reservation API (/internal/v1/reservations) the order service calls over HTTP. */
  ReservationRouter: Symbol.for('ProductReservationRouter'),
  Subscriptions: Symbol.for('ProductSubscriptions'),
} as const;

/** The product module's use cases, facade, HTTP router and event subscriptions, wired from the ports. */
export const productModule = new ContainerModule(({ bind }) => {
  bind<ProductDependencies>(ProductTokens.Dependencies)
    .toResolvedValue(
      (persistence: ProductPersistence, clock: Clock, cache: Cache) => ({ persistence, clock, cache }),
      [ProductTokens.Persistence, Tokens.Clock, Tokens.Cache],
    )
    .inSingletonScope();

  bind<ProductFacade>(ProductTokens.Facade)
    .toResolvedValue(
      (deps: ProductDependencies): ProductFacade => ({
        reserveStock: (cmd) => reserveStock(deps, cmd),
        releaseStock: async (cmd) => void (await releaseStock(deps, cmd)),
      }),
      [ProductTokens.Dependencies],
    )
    .inSingletonScope();

  bind(ProductTokens.Router)
    .toResolvedValue((deps: ProductDependencies) => productRouter(deps), [ProductTokens.Dependencies])
    .inSingletonScope();

  bind(ProductTokens.ReservationRouter)
    .toResolvedValue((facade: ProductFacade) => reservationRouter(facade), [ProductTokens.Facade])
    .inSingletonScope();

  bind<Subscription[]>(ProductTokens.Subscriptions)
    .toResolvedValue(
      (deps: ProductDependencies, instanceId: string): Subscription[] => [
        { topic: TOPICS.orderEvents, group: PRODUCT_CONSUMER, handler: handleOrderEvent(deps) },
        // One group per instance: every instance must drop its own cached copies.
        {
          topic: TOPICS.productEvents,
          group: `product-cache-${instanceId}`,
          handler: invalidateProductCache(deps),
          startAt: 'latest',
        },
      ],
      [ProductTokens.Dependencies, Tokens.InstanceId],
    )
    .inSingletonScope();
});
