import type { MikroORM } from '@mikro-orm/core';
import { ContainerModule } from 'inversify';
import type { Registry } from 'prom-client';
import type { OutboxRelay } from '../../adapters/messaging/outbox-relay.ts';
import { MikroOrmOrderPersistence } from '../../adapters/persistence/mikro-orm/order/mikro-orm-order-persistence.ts';
import { MikroOrmProductPersistence } from '../../adapters/persistence/mikro-orm/product/mikro-orm-product-persistence.ts';
import type { ReadinessCheck } from '../../edge/http-app.ts';
import { OrderTokens } from '../../modules/order/order.module.ts';
import { ProductTokens } from '../../modules/product/product.module.ts';
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
    token: ProductTokens.Persistence,
    make: (orm: MikroORM, nudge: () => void) => new MikroOrmProductPersistence(orm, nudge),
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
        (config: Config, bus: EventBus, logger: Logger, lifecycle: Lifecycle, registry: Registry) =>
          moduleStorage(config, module, bus, logger, lifecycle, registry),
        [BootTokens.Config, Tokens.EventBus, Tokens.Logger, BootTokens.Lifecycle, BootTokens.MetricsRegistry],
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
