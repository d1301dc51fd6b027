import { UniqueConstraintViolationException } from '@mikro-orm/core';
import {
  LATEST,
  type ProductQuery,
  type ProductRepository,
  type ReadAfter,
} from '../../../../modules/product/application/ports/product-persistence.port.ts';
import { productDocument } from '../../../../modules/product/application/product-document.ts';
import { ProductErrors } from '../../../../modules/product/domain/product.errors.ts';
import { Product } from '../../../../modules/product/domain/product.ts';
import { dateFrom, placeholders, type Sql, type SqlRow, whereOf } from '../shared/sql.ts';

const COLUMNS = 'id, sku, name, description, price_cents, currency, stock, version, created_at, updated_at';

const toDomain = (row: SqlRow) =>
  Product.restore({
    id: String(row.id),
    sku: String(row.sku),
    name: String(row.name),
    description: String(row.description),
    priceCents: Number(row.price_cents),
    currency: String(row.currency),
    stock: Number(row.stock),
    version: Number(row.version),
    createdAt: dateFrom(row.created_at),
    updatedAt: dateFrom(row.updated_at),
  });

/** Where the read use cases' reads (get, list, search) go: a read replica, or `sql` itself in a transaction. */
export type ReplicaReads = (readAfter?: ReadAfter) => Sql;

export class MikroOrmProductRepository implements ProductRepository {
  readonly #sql: Sql;
  readonly #reads: ReplicaReads;

  /** `reads`: given outside a transaction only (SqlDatabase.reader); everything else runs on `sql`. */
  constructor(sql: Sql, reads: ReplicaReads = () => sql) {
    this.#sql = sql;
    // LATEST: the primary itself (what the product cache fills from), never a replica.
    this.#reads = (readAfter) => (readAfter === LATEST ? sql : reads(readAfter));
  }

  async findById(id: string): Promise<Product | null> {
    const row = await this.#sql.get(`select ${COLUMNS} from products where id = ?`, [id]);
    return row ? toDomain(row) : null;
  }

  async findDocument(id: string, readAfter?: ReadAfter) {
    const row = await this.#reads(readAfter).get(`select ${COLUMNS} from products where id = ?`, [id]);
    return row ? productDocument(toDomain(row).toProps()) : null;
  }

  async findByIds(ids: readonly string[]): Promise<Product[]> {
    if (ids.length === 0) return [];
    const rows = await this.#sql.all(`select ${COLUMNS} from products where id in (${placeholders(ids.length)})`, ids);
    return rows.map(toDomain);
  }

  async list(query: ProductQuery): Promise<Product[]> {
    // instr() on lower() is a substring match on both dialects with no LIKE wildcards to escape.
    const needle = query.q?.toLowerCase();
    const filter = whereOf(
      query.after && ['id > ?', query.after],
      needle && ['(instr(lower(name), ?) > 0 or instr(lower(sku), ?) > 0)', needle, needle],
    );
    const rows = await this.#reads(query.readAfter).all(
      `select ${COLUMNS} from products ${filter.sql} order by id limit ${Math.trunc(query.limit)}`,
      filter.params,
    );
    return rows.map(toDomain);
  }

  async insert(product: Product): Promise<void> {
    const p = product.toProps();
    try {
      await this.#sql.run(`insert into products (${COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
        p.id,
        p.sku,
        p.name,
        p.description,
        p.priceCents,
        p.currency,
        p.stock,
        p.version,
        p.createdAt,
        p.updatedAt,
      ]);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw ProductErrors.skuTaken(product.sku);
      throw error;
    }
  }

  async update(product: Product, expectedVersion: number): Promise<boolean> {
    const p = product.toProps();
    const changed = await this.#sql.run(
      'update products set name = ?, description = ?, price_cents = ?, stock = ?, version = ?, updated_at = ? ' +
        'where id = ? and version = ?',
      [p.name, p.description, p.priceCents, p.stock, p.version, p.updatedAt, p.id, expectedVersion],
    );
    return changed === 1;
  }

  async delete(id: string): Promise<Product | null> {
    const found = await this.findById(id);
    if (!found) return null;
    const changed = await this.#sql.run('delete from products where id = ?', [id]);
    return changed === 1 ? found : null;
  }

  async adjustStock(id: string, delta: number, now: Date): Promise<boolean> {
    const changed = await this.#sql.run(
      'update products set stock = stock + ?, version = version + 1, updated_at = ? where id = ? and stock >= ?',
      [delta, now, id, Math.max(0, -delta)],
    );
    return changed === 1;
  }
}
