import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type {
  CatalogEntry,
  CatalogReplicaRepository,
} from '../../../../modules/order/application/ports/order-persistence.port.ts';
import { placeholders, type Sql } from '../shared/sql.ts';

export class MikroOrmCatalogReplicaRepository implements CatalogReplicaRepository {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async findByIds(ids: readonly string[]): Promise<CatalogEntry[]> {
    if (ids.length === 0) return [];
    const rows = await this.#sql.all(
      'select product_id, sku, name, price_cents, currency, version, deleted from catalog_replica ' +
        `where product_id in (${placeholders(ids.length)})`,
      ids,
    );
    return rows.map((row) => ({
      productId: String(row.product_id),
      sku: String(row.sku),
      name: String(row.name),
      priceCents: Number(row.price_cents),
      currency: String(row.currency),
      version: Number(row.version),
      deleted: Boolean(Number(row.deleted)),
    }));
  }

  /**
   * Insert, or overwrite only an older version: conditional writes, so redelivered old facts lose. The insert
   * comes first: an UPDATE of a row that does not exist yet takes a gap lock on MySQL (REPEATABLE READ), and
   * two consumers doing that at the end of the index (ids are time-ordered) deadlocked on their inserts.
   */
  async upsert(entry: CatalogEntry): Promise<void> {
    const { productId, sku, name, priceCents, currency, version, deleted } = entry;
    try {
      await this.#sql.run(
        'insert into catalog_replica (product_id, sku, name, price_cents, currency, version, deleted) ' +
          'values (?, ?, ?, ?, ?, ?, ?)',
        [productId, sku, name, priceCents, currency, version, deleted],
      );
      return;
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
    }
    await this.#sql.run(
      'update catalog_replica set sku = ?, name = ?, price_cents = ?, currency = ?, version = ?, deleted = ? ' +
        'where product_id = ? and version < ?',
      [sku, name, priceCents, currency, version, deleted, productId, version],
    );
  }
}
