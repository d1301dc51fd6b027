import type { MikroORM } from '@mikro-orm/core';
import type {
  ProductPersistence,
  ProductRepository,
  ProductTransaction,
} from '../../../../modules/product/application/ports/product-persistence.port.ts';
import { MikroOrmOutbox } from '../shared/mikro-orm-outbox.ts';
import { MikroOrmProductRepository } from './mikro-orm-product.repository.ts';
import { MikroOrmReservationRepository } from './mikro-orm-reservation.repository.ts';

/** product_db through MikroORM: every transaction gets repositories and an outbox on one connection. */
export class MikroOrmProductPersistence implements ProductPersistence {
  readonly #orm: MikroORM;
  readonly #onEventsCommitted: () => void;

  constructor(orm: MikroORM, onEventsCommitted: () => void) {
    this.#orm = orm;
    this.#onEventsCommitted = onEventsCommitted;
  }

  get products(): ProductRepository {
    return new MikroOrmProductRepository(this.#orm.em.fork());
  }

  async transaction<T>(work: (tx: ProductTransaction) => Promise<T>): Promise<T> {
    let outbox: MikroOrmOutbox | undefined;
    const result = await this.#orm.em.fork().transactional((em) => {
      outbox = new MikroOrmOutbox(em);
      return work({
        products: new MikroOrmProductRepository(em),
        reservations: new MikroOrmReservationRepository(em),
        outbox,
        inbox: outbox,
      });
    });
    if (outbox && outbox.appended > 0) this.#onEventsCommitted();
    return result;
  }
}
