import type { MikroORM } from '@mikro-orm/core';
import type {
  ProductPersistence,
  ProductRepository,
  ProductTransaction,
} from '../../../../modules/product/application/ports/product-persistence.port.ts';
import { MikroOrmOutbox } from '../shared/mikro-orm-outbox.ts';
import { type SqlDatabase, sqlDatabaseOf } from '../shared/sql.ts';
import { MikroOrmProductRepository } from './mikro-orm-product.repository.ts';
import { MikroOrmReservationRepository } from './mikro-orm-reservation.repository.ts';

/**
 * product_db through MikroORM's connection: every transaction gets repositories and an outbox on one
 * connection (the primary's). Reads outside a transaction that the read use cases make (a product, a page,
 * a search) may go to a read replica when the database has them (SqlDatabase.reader); after a transaction
 * commits there, `onCommitted` hears its position so the caller can read its own write later.
 */
export class MikroOrmProductPersistence implements ProductPersistence {
  readonly #db: SqlDatabase;
  readonly #onEventsCommitted: () => void;
  readonly #onCommitted: ((position: string) => void) | undefined;
  readonly products: ProductRepository;

  constructor(orm: MikroORM, onEventsCommitted: () => void, onCommitted?: (position: string) => void) {
    this.#db = sqlDatabaseOf(orm);
    this.#onEventsCommitted = onEventsCommitted;
    this.#onCommitted = onCommitted;
    this.products = new MikroOrmProductRepository(this.#db, (readAfter) => this.#db.reader(readAfter));
  }

  async transaction<T>(work: (tx: ProductTransaction) => Promise<T>): Promise<T> {
    let outbox: MikroOrmOutbox | undefined;
    const result = await this.#db.transaction(
      (tx) => {
        outbox = new MikroOrmOutbox(tx);
        return work({
          products: new MikroOrmProductRepository(tx),
          reservations: new MikroOrmReservationRepository(tx),
          outbox,
          inbox: outbox,
        });
      },
      this.#onCommitted && { onCommitted: this.#onCommitted },
    );
    if (outbox && outbox.appended > 0) this.#onEventsCommitted();
    return result;
  }
}

/** How many products have `threshold` or fewer in stock (for the low-stock gauge; a scan of products). */
export async function lowStockCount(orm: MikroORM, threshold: number): Promise<number> {
  const row = await sqlDatabaseOf(orm).get('select count(*) as products from products where stock <= ?', [threshold]);
  return Number(row?.products ?? 0);
}
