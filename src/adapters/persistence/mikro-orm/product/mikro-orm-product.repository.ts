import { type EntityManager, type InferEntity, raw, UniqueConstraintViolationException } from '@mikro-orm/core';
import type {
  ProductQuery,
  ProductRepository,
} from '../../../../modules/product/application/ports/product-persistence.port.ts';
import { ProductErrors } from '../../../../modules/product/domain/product.errors.ts';
import { Product } from '../../../../modules/product/domain/product.ts';
import { ProductSchema } from './product.schema.ts';

type Row = InferEntity<typeof ProductSchema>;

const toDomain = (row: Row) => Product.restore({ ...row, priceCents: Number(row.priceCents) });

export class MikroOrmProductRepository implements ProductRepository {
  readonly #em: EntityManager;

  constructor(em: EntityManager) {
    this.#em = em;
  }

  async findById(id: string): Promise<Product | null> {
    const row = await this.#em.findOne(ProductSchema, { id }, { disableIdentityMap: true });
    return row ? toDomain(row) : null;
  }

  async findByIds(ids: readonly string[]): Promise<Product[]> {
    if (ids.length === 0) return [];
    const rows = await this.#em.find(ProductSchema, { id: { $in: [...ids] } }, { disableIdentityMap: true });
    return rows.map(toDomain);
  }

  async list(query: ProductQuery): Promise<Product[]> {
    const where: Record<string, unknown> = {};
    if (query.after) where.id = { $gt: query.after };
    if (query.q) {
      // instr() on lower() is a substring match on both dialects with no LIKE wildcards to escape.
      const needle = query.q.toLowerCase();
      where.$or = [
        { [raw('instr(lower(name), ?)', [needle])]: { $gt: 0 } },
        { [raw('instr(lower(sku), ?)', [needle])]: { $gt: 0 } },
      ];
    }
    const rows = await this.#em.find(ProductSchema, where, {
      orderBy: { id: 'asc' },
      limit: query.limit,
      disableIdentityMap: true,
    });
    return rows.map(toDomain);
  }

  async insert(product: Product): Promise<void> {
    try {
      await this.#em.insert(ProductSchema, product.toProps());
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw ProductErrors.skuTaken(product.sku);
      throw error;
    }
  }

  async update(product: Product, expectedVersion: number): Promise<boolean> {
    const { id, createdAt: _createdAt, sku: _sku, currency: _currency, ...changes } = product.toProps();
    const count = await this.#em.nativeUpdate(ProductSchema, { id, version: expectedVersion }, changes);
    return count === 1;
  }

  async delete(id: string): Promise<Product | null> {
    const found = await this.findById(id);
    if (!found) return null;
    const count = await this.#em.nativeDelete(ProductSchema, { id });
    return count === 1 ? found : null;
  }

  async adjustStock(id: string, delta: number, now: Date): Promise<boolean> {
    const count = await this.#em.nativeUpdate(
      ProductSchema,
      { id, stock: { $gte: Math.max(0, -delta) } },
      { stock: raw('stock + ?', [delta]), version: raw('version + 1'), updatedAt: now },
    );
    return count === 1;
  }
}
