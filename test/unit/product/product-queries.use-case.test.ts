import { expect } from 'chai';
import { createProduct } from '../../../src/modules/product/application/use-cases/create-product.use-case.ts';
import { getProduct } from '../../../src/modules/product/application/use-cases/get-product.use-case.ts';
import { listProducts } from '../../../src/modules/product/application/use-cases/list-products.use-case.ts';
import { reserveStock } from '../../../src/modules/product/application/use-cases/reserve-stock.use-case.ts';
import type { NewProduct, ProductProps } from '../../../src/modules/product/domain/product.ts';
import { newId } from '../../../src/shared/id.ts';
import { type ProductWorld, productInput, productWorld, rejection } from '../fixtures.ts';

async function seed(world: ProductWorld, inputs: Partial<NewProduct>[]): Promise<ProductProps[]> {
  const created: ProductProps[] = [];
  for (const input of inputs) created.push(await createProduct(world.deps, productInput(input), 'corr-seed'));
  return created;
}

/** Walks every page of the listing and returns the pages' ids. */
async function allPages(world: ProductWorld, limit: number, q?: string): Promise<string[][]> {
  const pages: string[][] = [];
  let after: string | undefined;
  for (;;) {
    const page = await listProducts(world.deps, { limit, after, q });
    pages.push(page.items.map((p) => p.id));
    if (page.nextCursor === null) return pages;
    expect(page.nextCursor).to.equal(page.items.at(-1)!.id);
    after = page.nextCursor;
  }
}

/** Changes the stored stock behind the cache's back (no invalidation), as another process would. */
async function takeStockSilently(world: ProductWorld, id: string, quantity: number) {
  await world.persistence.transaction((tx) => tx.products.adjustStock(id, -quantity, world.clock.now()));
}

/** A product as the API's JSON document (what getProduct returns, and what the HTTP routes answer with). */
const asDocument = (p: ProductProps) => ({ version: p.version, json: JSON.stringify(p) });

describe('getProduct', () => {
  it('returns the stored product as its JSON document and version', async () => {
    const world = productWorld();
    const [product] = await seed(world, [{ name: 'Lamp' }]);
    const read = await getProduct(world.deps, product!.id);
    expect(read).to.deep.equal(asDocument(product!));
    expect(JSON.parse(read.json)).to.deep.equal({
      ...product,
      createdAt: product!.createdAt.toISOString(),
      updatedAt: product!.updatedAt.toISOString(),
    });
  });

  it('fills the cache on a miss: the version, then the document', async () => {
    const world = productWorld();
    const [product] = await seed(world, [{}]);
    await getProduct(world.deps, product!.id);
    expect(await world.cache.getText(`product:${product!.id}`)).to.equal(`1 ${JSON.stringify(product)}`);
  });

  it('answers later reads from the cache, as they were stored', async () => {
    const world = productWorld();
    const [product] = await seed(world, [{ stock: 10 }]);
    await getProduct(world.deps, product!.id);
    await takeStockSilently(world, product!.id, 3);
    expect(await getProduct(world.deps, product!.id)).to.deep.equal(asDocument(product!));
  });

  it('reads an entry in any other form as a miss, and replaces it', async () => {
    const world = productWorld();
    const [product] = await seed(world, [{ stock: 10 }]);
    for (const stale of [JSON.stringify(product), 'x {}', '1 ', '1.5 {}', '']) {
      await world.cache.setText(`product:${product!.id}`, stale, 60);
      expect(await getProduct(world.deps, product!.id), stale).to.deep.equal(asDocument(product!));
    }
  });

  it('is invalidated when stock is reserved', async () => {
    const world = productWorld();
    const [product] = await seed(world, [{ stock: 10 }]);
    await getProduct(world.deps, product!.id);
    await reserveStock(world.deps, {
      orderId: newId(),
      items: [{ productId: product!.id, quantity: 4 }],
      correlationId: 'c',
    });
    const read = await getProduct(world.deps, product!.id);
    expect(read.version).to.equal(2);
    expect(JSON.parse(read.json)).to.deep.include({ stock: 6, version: 2 });
  });

  it('refuses an unknown product with PRODUCT_NOT_FOUND and caches nothing', async () => {
    const world = productWorld();
    const id = newId();
    const error = await rejection(getProduct(world.deps, id));
    expect(error.code).to.equal('PRODUCT_NOT_FOUND');
    expect(await world.cache.getText(`product:${id}`)).to.equal(undefined);
  });
});

describe('listProducts', () => {
  it('pages through every product in creation order without overlap, ending with a null cursor', async () => {
    const world = productWorld();
    const products = await seed(
      world,
      Array.from({ length: 7 }, () => ({})),
    );
    const pages = await allPages(world, 3);
    expect(pages.map((p) => p.length)).to.deep.equal([3, 3, 1]);
    expect(pages.flat()).to.deep.equal(products.map((p) => p.id));
  });

  it('gives a null cursor on a last page that is exactly full', async () => {
    const world = productWorld();
    await seed(
      world,
      Array.from({ length: 6 }, () => ({})),
    );
    const pages = await allPages(world, 3);
    expect(pages.map((p) => p.length)).to.deep.equal([3, 3]);
  });

  it('returns an empty page with a null cursor when there is nothing', async () => {
    const world = productWorld();
    expect(await listProducts(world.deps, { limit: 20 })).to.deep.equal({
      items: [],
      nextCursor: null,
    });
  });

  it('filters by a case-insensitive substring of the name or the sku', async () => {
    const world = productWorld();
    const [lamp, , desk, sku] = await seed(world, [
      { name: 'Desk Lamp' },
      { name: 'Chair' },
      { name: 'Lamp shade' },
      { name: 'Table', sku: 'LAMP-TABLE-9' },
    ]);
    const page = await listProducts(world.deps, { limit: 20, q: 'lAmP' });
    expect(page.items.map((p) => p.id)).to.deep.equal([lamp!.id, desk!.id, sku!.id]);
    expect(page.nextCursor).to.equal(null);
  });

  it('paginates a filtered listing too', async () => {
    const world = productWorld();
    const products = await seed(world, [{ name: 'Red pen' }, { name: 'Cup' }, { name: 'Blue pen' }, { name: 'Pen X' }]);
    const pages = await allPages(world, 2, 'pen');
    expect(pages).to.deep.equal([[products[0]!.id, products[2]!.id], [products[3]!.id]]);
  });
});
