import { type EntityManager, UniqueConstraintViolationException } from '@mikro-orm/core';
import type {
  CatalogEntry,
  CatalogReplicaRepository,
} from '../../../../modules/order/application/ports/order-persistence.port.ts';
import { CatalogEntrySchema } from './order.schema.ts';

export class MikroOrmCatalogReplicaRepository implements CatalogReplicaRepository {
  readonly #em: EntityManager;

  constructor(em: EntityManager) {
    this.#em = em;
  }

  async findByIds(ids: readonly string[]): Promise<CatalogEntry[]> {
    if (ids.length === 0) return [];
    const rows = await this.#em.find(
      CatalogEntrySchema,
      { productId: { $in: [...ids] } },
      { disableIdentityMap: true },
    );
    return rows.map((row) => ({ ...row, priceCents: Number(row.priceCents), deleted: Boolean(row.deleted) }));
  }

  /**
   * Insert, or overwrite only an older version: conditional writes, so redelivered old facts lose. The insert
   * comes first: an UPDATE of a row that does not exist yet takes a gap lock on MySQL (REPEATABLE READ), and
   * two consumers doing that at the end of the index (ids are time-ordered) deadlocked on their inserts.
   */
  async upsert(entry: CatalogEntry): Promise<void> {
    try {
      await this.#em.insert(CatalogEntrySchema, entry);
      return;
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
    }
    const { productId, ...rest } = entry;
    await this.#em.nativeUpdate(CatalogEntrySchema, { productId, version: { $lt: entry.version } }, rest);
  }
}
