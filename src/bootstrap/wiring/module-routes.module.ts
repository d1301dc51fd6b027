import type { Router } from 'express';
import { ContainerModule } from 'inversify';
import { OrderTokens } from '../../modules/order/order.module.ts';
import { ProductTokens } from '../../modules/product/product.module.ts';
import type { RoutedDeadLetterStore } from '../../adapters/messaging/in-process/routed-dead-letter-store.ts';
import type { Subscription } from '../../shared/messaging/event-bus.port.ts';
import type { Config } from '../config.schema.ts';
import { BootTokens, type Route } from './boot-tokens.ts';

/** The product module's driving side in a role: its public routes and subscriptions. */
export const productRoutesModule = (options: { internalApi: boolean }) =>
  new ContainerModule(({ bind }) => {
    bind<Route>(BootTokens.ApiRoute).toResolvedValue(
      (router: Router) => ({ path: '/products', router }),
      [ProductTokens.Router],
    );
    // Only for an order service in another process; in one process the order module calls the facade.
    if (options.internalApi) {
      bind<Route>(BootTokens.InternalRoute).toResolvedValue(
        (router: Router) => ({ path: '/reservations', router }),
        [ProductTokens.ReservationRouter],
      );
    }
    bind<Subscription[]>(BootTokens.Subscriptions).toResolvedValue(ownedBy('product'), [
      ProductTokens.Subscriptions,
      BootTokens.Config,
      { serviceIdentifier: BootTokens.DeadLetters, optional: true },
    ]);
  });

/** The order module's driving side in a role: its routes (in the configured default mode) and subscriptions. */
export const orderRoutesModule = new ContainerModule(({ bind }) => {
  bind(OrderTokens.DefaultMode).toResolvedValue((config: Config) => config.mode, [BootTokens.Config]);
  bind<Route>(BootTokens.ApiRoute).toResolvedValue(
    (router: Router) => ({ path: '/orders', router }),
    [OrderTokens.Router],
  );
  bind<Subscription[]>(BootTokens.Subscriptions).toResolvedValue(ownedBy('order'), [
    OrderTokens.Subscriptions,
    BootTokens.Config,
    { serviceIdentifier: BootTokens.DeadLetters, optional: true },
  ]);
});

/**
 * A module's subscriptions, each group routed to the module's own dead letters (its database), under the
 * name the bus gives it (namespaced when a namespace is configured).
 */
const ownedBy =
  (module: 'product' | 'order') =>
  (subscriptions: Subscription[], config: Config, deadLetters: RoutedDeadLetterStore | undefined): Subscription[] => {
    for (const s of subscriptions) deadLetters?.route(config.kafkaNamespace + s.group, module);
    return subscriptions;
  };
