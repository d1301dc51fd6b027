import type { MikroORM } from '@mikro-orm/core';
import type {
  CatalogReplicaRepository,
  IdempotencyRepository,
  OrderPersistence,
  OrderRepository,
  OrderTransaction,
} from '../../../../modules/order/application/ports/order-persistence.port.ts';
import { MikroOrmOutbox } from '../shared/mikro-orm-outbox.ts';
import { MikroOrmCatalogReplicaRepository } from './mikro-orm-catalog-replica.repository.ts';
import { MikroOrmIdempotencyRepository } from './mikro-orm-idempotency.repository.ts';
import { MikroOrmOrderRepository } from './mikro-orm-order.repository.ts';

/** order_db through MikroORM: every transaction gets repositories and an outbox on one connection. */
export class MikroOrmOrderPersistence implements OrderPersistence {
  readonly #orm: MikroORM;
  readonly #onEventsCommitted: () => void;

  constructor(orm: MikroORM, onEventsCommitted: () => void) {
    this.#orm = orm;
    this.#onEventsCommitted = onEventsCommitted;
  }

  get orders(): OrderRepository {
    return new MikroOrmOrderRepository(this.#orm.em.fork());
  }

  get catalog(): CatalogReplicaRepository {
    return new MikroOrmCatalogReplicaRepository(this.#orm.em.fork());
  }

  get idempotency(): IdempotencyRepository {
    return new MikroOrmIdempotencyRepository(this.#orm.em.fork());
  }

  async transaction<T>(work: (tx: OrderTransaction) => Promise<T>): Promise<T> {
    let outbox: MikroOrmOutbox | undefined;
    const result = await this.#orm.em.fork().transactional((em) => {
      outbox = new MikroOrmOutbox(em);
      return work({
        orders: new MikroOrmOrderRepository(em),
        idempotency: new MikroOrmIdempotencyRepository(em),
        catalog: new MikroOrmCatalogReplicaRepository(em),
        outbox,
        inbox: outbox,
      });
    });
    if (outbox && outbox.appended > 0) this.#onEventsCommitted();
    return result;
  }
}
