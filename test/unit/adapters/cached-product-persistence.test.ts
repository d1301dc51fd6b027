import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/core';
import { expect } from 'chai';
import { MemoryCache } from '../../../src/adapters/cache/memory/memory-cache.ts';
import {
  CachedProductPersistence,
  productCacheKey,
} from '../../../src/adapters/cache/product/cached-product-persistence.ts';
import { TieredCache } from '../../../src/adapters/cache/tiered-cache.ts';
import { migrate } from '../../../src/adapters/persistence/mikro-orm/orm.ts';
import { MikroOrmProductPersistence } from '../../../src/adapters/persistence/mikro-orm/product/mikro-orm-product-persistence.ts';
import { loadConfig } from '../../../src/bootstrap/config.ts';
import { openModuleDatabase } from '../../../src/bootstrap/infrastructure.ts';
import {
  LATEST,
  type ProductPersistence,
  type ProductRepository,
} from '../../../src/modules/product/application/ports/product-persistence.port.ts';
import { Product } from '../../../src/modules/product/domain/product.ts';
import type { Cache } from '../../../src/shared/cache.port.ts';
import { newId } from '../../../src/shared/id.ts';
import { silentLogger } from '../../../src/shared/logger.port.ts';

/**
 * The real SQLite store, with its loads of a product's document counted (and, when `gate` is set, held until
 * it opens): the thing under test is the cache in front, never a mock of it.
 */
class CountingStore implements ProductPersistence {
  loads = 0;
  /** The read position of every findDocument call (undefined: a replica may serve it). */
  positions: (string | undefined)[] = [];
  gate: Promise<void> | undefined;
  readonly #inner: ProductPersistence;

  constructor(inner: ProductPersistence) {
    this.#inner = inner;
  }

  get products(): ProductRepository {
    const repo = this.#inner.products;
    return {
      findById: (id) => repo.findById(id),
      findDocument: async (id, readAfter) => {
        this.loads += 1;
        this.positions.push(readAfter);
        const document = await repo.findDocument(id, readAfter);
        await this.gate;
        return document;
      },
      findByIds: (ids) => repo.findByIds(ids),
      list: (query) => repo.list(query),
      insert: (product) => repo.insert(product),
      update: (product, expected) => repo.update(product, expected),
      delete: (id) => repo.delete(id),
      adjustStock: (id, delta, now) => repo.adjustStock(id, delta, now),
    };
  }

  transaction: ProductPersistence['transaction'] = (work) => this.#inner.transaction(work);
}

const now = new Date('2026-01-02T03:04:05.678Z');
const newProduct = () =>
  Product.create(
    newId(),
    { sku: `SKU-${newId()}`, name: 'Lamp', description: '', priceCents: 1000, currency: 'EUR', stock: 10 },
    now,
  );

describe('CachedProductPersistence (the product cache in front of the SQLite store)', function () {
  this.timeout(30_000);
  let orm: MikroORM;
  let dataDir: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hexashop-product-cache-'));
    orm = await openModuleDatabase(
      loadConfig({ flags: { dataDir, storage: 'sqlite' }, env: {} }),
      'product',
      silentLogger,
    );
    await migrate(orm);
  });

  after(async () => {
    await orm.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function world(cache: Cache = new MemoryCache()) {
    const store = new CountingStore(new MikroOrmProductPersistence(orm, () => {}));
    const cached = new CachedProductPersistence(store, cache);
    const product = newProduct();
    await cached.transaction((tx) => tx.products.insert(product));
    return { store, cached, cache, product };
  }

  it('loads a cold product once for 50 concurrent reads, and answers the next ones from the cache', async () => {
    const { store, cached, product } = await world();
    const reads = await Promise.all(Array.from({ length: 50 }, () => cached.products.findDocument(product.id)));
    expect(store.loads).to.equal(1);
    expect(new Set(reads.map((r) => r?.json)).size).to.equal(1);
    expect(reads[0]).to.deep.include({ version: 1 });
    await Promise.all(Array.from({ length: 10 }, () => cached.products.findDocument(product.id)));
    expect(store.loads).to.equal(1);
  });

  it('shares a load between reads that miss while it runs, also across a far tier', async () => {
    const far = new MemoryCache();
    const { store, cached, product } = await world(new TieredCache(new MemoryCache({ maxTtlMs: 1_000 }), far));
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    const first = Array.from({ length: 25 }, () => cached.products.findDocument(product.id));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const later = Array.from({ length: 25 }, () => cached.products.findDocument(product.id));
    open();
    const reads = await Promise.all([...first, ...later]);
    expect(store.loads).to.equal(1);
    expect(reads.every((r) => r?.version === 1)).to.equal(true);
    expect(await far.getText(productCacheKey(product.id)), 'the far tier is filled too').to.match(/^1 \{/);
  });

  it('drops the entry when a transaction of this instance changes the product, and loads it again', async () => {
    const { store, cached, product } = await world();
    await cached.products.findDocument(product.id);
    await cached.transaction((tx) => tx.products.adjustStock(product.id, -3, now));
    const read = await cached.products.findDocument(product.id);
    expect(store.loads).to.equal(2);
    expect(read).to.deep.include({ version: 2 });
    expect(JSON.parse(read!.json)).to.deep.include({ stock: 7 });
  });

  it('keeps the entry when the transaction rolls back', async () => {
    const { store, cached, product } = await world();
    await cached.products.findDocument(product.id);
    await cached
      .transaction(async (tx) => {
        await tx.products.adjustStock(product.id, -3, now);
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    expect(await cached.products.findDocument(product.id)).to.deep.include({ version: 1 });
    expect(store.loads).to.equal(1);
  });

  it('does not keep what a load read when the product changed while it ran; a read after the change loads again', async () => {
    const { store, cached, cache, product } = await world();
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    const during = cached.products.findDocument(product.id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Another instance changed it: the store moves on, the event arrives here while the load is held.
    const other = new MikroOrmProductPersistence(orm, () => {});
    await other.transaction((tx) => tx.products.adjustStock(product.id, -1, now));
    await cached.forget([product.id]);
    store.gate = undefined;
    const after = cached.products.findDocument(product.id);
    open();
    expect(await during).to.deep.include({ version: 1 });
    expect(await after).to.deep.include({ version: 2 });
    expect(store.loads).to.equal(2);
    expect(await cache.getText(productCacheKey(product.id))).to.match(/^2 \{/);
  });

  it('serves what another instance changed from the near tier until its short TTL, and fresh after', async () => {
    const far = new MemoryCache();
    const { cached, product } = await world(new TieredCache(new MemoryCache({ maxTtlMs: 150 }), far));
    await cached.products.findDocument(product.id);
    // Another instance: writes, deletes the far entry; its event has not reached this one.
    const other = new CachedProductPersistence(
      new MikroOrmProductPersistence(orm, () => {}),
      new TieredCache(new MemoryCache({ maxTtlMs: 150 }), far),
    );
    await other.transaction((tx) => tx.products.adjustStock(product.id, -1, now));
    expect(await far.getText(productCacheKey(product.id))).to.equal(undefined);
    expect(await cached.products.findDocument(product.id), 'stale within the TTL').to.deep.include({ version: 1 });
    const deadline = Date.now() + 1_000;
    let read = await cached.products.findDocument(product.id);
    while (read?.version !== 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      read = await cached.products.findDocument(product.id);
    }
    expect(read).to.deep.include({ version: 2 });
  });

  it('fills from the primary (LATEST), never from a read replica that may be behind a change', async () => {
    const store = new CountingStore(new MikroOrmProductPersistence(orm, () => {}));
    const cached = new CachedProductPersistence(store, new MemoryCache());
    const product = newProduct();
    await cached.transaction((tx) => tx.products.insert(product));
    await cached.products.findDocument(product.id);
    await cached.forget([product.id]);
    await cached.products.findDocument(product.id);
    expect(store.positions).to.deep.equal([LATEST, LATEST]);
  });

  it('passes a read that must see a write (a read-after position) to the store, and keeps nothing of it', async () => {
    const { store, cached, cache, product } = await world();
    expect(await cached.products.findDocument(product.id, '0-1-1')).to.deep.include({ version: 1 });
    expect(await cache.getText(productCacheKey(product.id))).to.equal(undefined);
    await cached.products.findDocument(product.id);
    await cached.products.findDocument(product.id, '0-1-1');
    expect(store.loads).to.equal(3);
  });

  it('forgets at once when told (the product-events consumer), and caches no unknown product', async () => {
    const { store, cached, product } = await world();
    await cached.products.findDocument(product.id);
    await cached.forget([product.id]);
    await cached.products.findDocument(product.id);
    expect(store.loads).to.equal(2);
    const unknown = newId();
    expect(await cached.products.findDocument(unknown)).to.equal(null);
    expect(await cached.products.findDocument(unknown)).to.equal(null);
    expect(store.loads).to.equal(4);
  });
});

describe('MemoryCache (the in-process tier)', () => {
  it('keeps at most its bound of entries, the least recently used going first', async () => {
    const cache = new MemoryCache({ maxEntries: 2 });
    await cache.setText('a', 'A', 60);
    await cache.setText('b', 'B', 60);
    await cache.getText('a');
    await cache.setText('c', 'C', 60);
    expect([await cache.getText('a'), await cache.getText('b'), await cache.getText('c')]).to.deep.equal([
      'A',
      undefined,
      'C',
    ]);
  });

  it('caps every entry at its maximum TTL, whatever TTL it was set with', async () => {
    const cache = new MemoryCache({ maxTtlMs: 30 });
    await cache.setText('a', 'A', 60);
    expect(await cache.getText('a')).to.equal('A');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await cache.getText('a')).to.equal(undefined);
  });
});
