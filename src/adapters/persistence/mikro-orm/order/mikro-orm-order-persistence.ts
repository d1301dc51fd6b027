import type { MikroORM } from '@mikro-orm/core';
import type {
  CatalogReplicaRepository,
  IdempotencyRepository,
  OrderPersistence,
  OrderRepository,
  OrderTransaction,
} from '../../../../modules/order/application/ports/order-persistence.port.ts';
import { MikroOrmOutbox } from '../shared/mikro-orm-outbox.ts';
import { type SqlDatabase, sqlDatabaseOf } from '../shared/sql.ts';
import { MikroOrmCatalogReplicaRepository } from './mikro-orm-catalog-replica.repository.ts';
import { MikroOrmIdempotencyRepository } from './mikro-orm-idempotency.repository.ts';
import { MikroOrmOrderRepository } from './mikro-orm-order.repository.ts';

/** order_db through MikroORM's connection: every transaction gets repositories and an outbox on one connection. */
export class MikroOrmOrderPersistence implements OrderPersistence {
  readonly #db: SqlDatabase;
  readonly #onEventsCommitted: () => void;
  readonly orders: OrderRepository;
  readonly catalog: CatalogReplicaRepository;
  readonly idempotency: IdempotencyRepository;

  constructor(orm: MikroORM, onEventsCommitted: () => void) {
    this.#db = sqlDatabaseOf(orm);
    this.#onEventsCommitted = onEventsCommitted;
    this.orders = new MikroOrmOrderRepository(this.#db);
    this.catalog = new MikroOrmCatalogReplicaRepository(this.#db);
    this.idempotency = new MikroOrmIdempotencyRepository(this.#db);
  }

  async transaction<T>(work: (tx: OrderTransaction) => Promise<T>): Promise<T> {
    let outbox: MikroOrmOutbox | undefined;
    const result = await this.#db.transaction((tx) => {
      outbox = new MikroOrmOutbox(tx);
      return work({
        orders: new MikroOrmOrderRepository(tx),
        idempotency: new MikroOrmIdempotencyRepository(tx),
        catalog: new MikroOrmCatalogReplicaRepository(tx),
        outbox,
        inbox: outbox,
      });
    });
    if (outbox && outbox.appended > 0) this.#onEventsCommitted();
    return result;
  }
}
