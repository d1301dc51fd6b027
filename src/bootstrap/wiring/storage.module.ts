import type { MikroORM } from '@mikro-orm/core';
import { ContainerModule } from 'inversify';
import type { Registry } from 'prom-client';
import type { OutboxRelay } from '../../adapters/messaging/outbox-relay.ts';
import { MikroOrmOrderPersistence } from '../../adapters/persistence/mikro-orm/order/mikro-orm-order-persistence.ts';
import { recordWritePosition } from '../../adapters/logging/request-scope.ts';
import type { RoutedDeadLetterStore } from '../../adapters/messaging/in-process/routed-dead-letter-store.ts';
import { MikroOrmDeadLetterStore } from '../../adapters/persistence/mikro-orm/shared/mikro-orm-dead-letter-store.ts';
import { MikroOrmProductPersistence } from '../../adapters/persistence/mikro-orm/product/mikro-orm-product-persistence.ts';
import type { ReadinessCheck } from '../../edge/http-app.ts';
import { OrderTokens } from '../../modules/order/order.module.ts';
import type { Logger } from '../../shared/logger.port.ts';
import type { EventBus } from '../../shared/messaging/event-bus.port.ts';
import { Tokens } from '../../shared/tokens.ts';
import type { Config } from '../config.schema.ts';
import { moduleStorage } from '../infrastructure.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { ModuleName } from '../role-table.ts';
import { BootTokens } from './boot-tokens.ts';

type Storage = Awaited<ReturnType<typeof moduleStorage>>;

const PERSISTENCE = {
  product: {
    // The store as it is: the product cache goes in front of it (productCacheModule) for ProductTokens.Persistence.
    token: BootTokens.ProductStore,
    // With read replicas, a write's commit position goes back to the client (X-Read-After) through the request.
    make: (orm: MikroORM, nudge: () => void) => new MikroOrmProductPersistence(orm, nudge, recordWritePosition),
  },
  order: {
    token: OrderTokens.Persistence,
    make: (orm: MikroORM, nudge: () => void) => new MikroOrmOrderPersistence(orm, nudge),
  },
} as const;

/**
 * One module's database (its own SQLite file or MySQL schema, migrated at start unless disabled, closed
 * last), the module's persistence port on it, its outbox relay (started by the composition root after the
 * bus), and its readiness check.
 */
export const storageModule = (module: ModuleName) =>
  new ContainerModule(({ bind }) => {
    const storage = Symbol.for(`${module}-storage`);
    bind<Storage>(storage)
      .toResolvedValue(
        async (
          config: Config,
          bus: EventBus,
          logger: Logger,
          lifecycle: Lifecycle,
          registry: Registry,
          deadLetters: RoutedDeadLetterStore | undefined,
        ) => {
          const opened = await moduleStorage(config, module, bus, logger, lifecycle, registry);
          // The in-process bus parks the events of this module's consumer groups in its own database.
          deadLetters?.attach(module, new MikroOrmDeadLetterStore(opened.orm));
          return opened;
        },
        [
          BootTokens.Config,
          Tokens.EventBus,
          Tokens.Logger,
          BootTokens.Lifecycle,
          BootTokens.MetricsRegistry,
          { serviceIdentifier: BootTokens.DeadLetters, optional: true },
        ],
      )
      .inSingletonScope();
    bind(BootTokens.Database).toResolvedValue((s: Storage) => s.orm, [storage]);
    bind(PERSISTENCE[module].token)
      .toResolvedValue((s: Storage) => PERSISTENCE[module].make(s.orm, () => s.relay.nudge()), [storage])
      .inSingletonScope();
    bind<OutboxRelay>(BootTokens.OutboxRelay).toResolvedValue((s: Storage) => s.relay, [storage]);
    bind(BootTokens.Readiness).toResolvedValue(
      (s: Storage): ReadinessCheck => ({ name: `${module}-db`, check: s.ping }),
      [storage],
    );
  });
