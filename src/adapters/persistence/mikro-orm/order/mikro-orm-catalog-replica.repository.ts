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

  /** Insert, or overwrite only an older version: a conditional write, so redelivered old facts lose. */
  async upsert(entry: CatalogEntry): Promise<void> {
    const { productId, ...rest } = entry;
    const updated = await this.#em.nativeUpdate(
      CatalogEntrySchema,
      { productId, version: { $lt: entry.version } },
      rest,
    );
    if (updated === 1) return;
    try {
      await this.#em.insert(CatalogEntrySchema, entry);
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error; // a newer version is stored
    }
  }
}
