import { expect } from 'chai';
import type {
  ProductPersistence,
  ProductRepository,
} from '../../../src/modules/product/application/ports/product-persistence.port.ts';
import { createProduct } from '../../../src/modules/product/application/use-cases/create-product.use-case.ts';
import { deleteProduct } from '../../../src/modules/product/application/use-cases/delete-product.use-case.ts';
import { getProduct } from '../../../src/modules/product/application/use-cases/get-product.use-case.ts';
import { updateProduct } from '../../../src/modules/product/application/use-cases/update-product.use-case.ts';
import { isUuid } from '../../../src/shared/id.ts';
import { events, outbox, type ProductWorld, productInput, productWorld, rejection, T0 } from '../fixtures.ts';

const LATER = new Date(T0.getTime() + 60_000);

/**
 * Wraps a persistence so that its first `races` compare-and-set updates lose to a concurrent reservation:
 * one unit is taken (moving the version on) between the use case's read and its write.
 */
function losingRaces(world: ProductWorld, races: number): ProductPersistence {
  let left = races;
  const inner = world.persistence;
  return {
    get products() {
      return inner.products;
    },
    transaction: (work) =>
      inner.transaction((tx) => {
        const products: ProductRepository = {
          findById: (id) => tx.products.findById(id),
          findDocument: (id) => tx.products.findDocument(id),
          findByIds: (ids) => tx.products.findByIds(ids),
          list: (query) => tx.products.list(query),
          insert: (product) => tx.products.insert(product),
          delete: (id) => tx.products.delete(id),
          adjustStock: (id, delta, now) => tx.products.adjustStock(id, delta, now),
          update: async (product, expectedVersion) => {
            if (left > 0) {
              left -= 1;
              await tx.products.adjustStock(product.id, -1, world.clock.now());
            }
            return tx.products.update(product, expectedVersion);
          },
        };
        return work({ ...tx, products });
      }),
  };
}

describe('createProduct', () => {
  it('stores the product at version 1, stamped by the clock', async () => {
    const world = productWorld();
    const input = productInput({ sku: 'NEW-1', stock: 3 });
    const created = await createProduct(world.deps, input, 'corr-1');
    expect(isUuid(created.id)).to.equal(true);
    expect(created).to.deep.equal({
      ...input,
      id: created.id,
      version: 1,
      createdAt: T0,
      updatedAt: T0,
    });
    expect(await world.stored(created.id)).to.deep.equal(created);
  });

  it('writes exactly one ProductCreated to the outbox with the product snapshot', async () => {
    const world = productWorld();
    const created = await createProduct(world.deps, productInput(), 'corr-1');
    const [record, ...rest] = outbox(world.persistence);
    expect(rest).to.have.length(0);
    expect(record).to.deep.include({
      topic: 'product-events',
      published: false,
    });
    const { createdAt: _c, updatedAt: _u, ...snapshot } = created;
    expect(record!.event).to.deep.include({
      type: 'ProductCreated',
      aggregateId: created.id,
      correlationId: 'corr-1',
      source: 'product-service',
      occurredAt: T0.toISOString(),
      version: 1,
      payload: snapshot,
    });
    expect(isUuid(record!.event.id)).to.equal(true);
  });

  it('refuses a duplicate sku with SKU_TAKEN and writes nothing', async () => {
    const world = productWorld();
    await createProduct(world.deps, productInput({ sku: 'DUP-1' }), 'corr-1');
    const error = await rejection(createProduct(world.deps, productInput({ sku: 'DUP-1', name: 'Other' }), 'corr-2'));
    expect(error.code).to.equal('SKU_TAKEN');
    expect(error.category).to.equal('conflict');
    expect(world.persistence.transactions.state.products.size).to.equal(1);
    expect(events(world.persistence)).to.have.length(1);
  });

  it('refuses invalid input with INVALID_PRODUCT and writes nothing', async () => {
    const world = productWorld();
    const error = await rejection(createProduct(world.deps, productInput({ currency: 'ABC' }), 'corr-1'));
    expect(error.code).to.equal('INVALID_PRODUCT');
    expect(world.persistence.transactions.state.products.size).to.equal(0);
    expect(outbox(world.persistence)).to.have.length(0);
  });
});

describe('updateProduct', () => {
  async function setup() {
    const world = productWorld();
    const product = await createProduct(world.deps, productInput({ name: 'Widget', priceCents: 1000 }), 'corr-0');
    world.clock.advance(60_000);
    return { world, product };
  }

  it('applies the changes at the next version and writes ProductUpdated with the new snapshot', async () => {
    const { world, product } = await setup();
    const updated = await updateProduct(world.deps, product.id, { name: 'Gadget', priceCents: 1500 }, undefined, 'c');
    expect(updated).to.deep.include({
      name: 'Gadget',
      priceCents: 1500,
      version: 2,
      stock: product.stock,
    });
    expect(updated.updatedAt).to.deep.equal(LATER);
    expect(await world.stored(product.id)).to.deep.equal(updated);
    const [event, ...rest] = events(world.persistence, 'ProductUpdated');
    expect(rest).to.have.length(0);
    expect(event!.payload).to.deep.include({
      id: product.id,
      name: 'Gadget',
      priceCents: 1500,
      version: 2,
    });
  });

  it('accepts an If-Match that names the current version', async () => {
    const { world, product } = await setup();
    const updated = await updateProduct(world.deps, product.id, { stock: 42 }, 1, 'c');
    expect(updated).to.deep.include({ stock: 42, version: 2 });
  });

  it('refuses a stale If-Match with STALE_VERSION and changes nothing', async () => {
    const { world, product } = await setup();
    await updateProduct(world.deps, product.id, { stock: 7 }, 1, 'c');
    const error = await rejection(updateProduct(world.deps, product.id, { name: 'Late' }, 1, 'c'));
    expect(error.code).to.equal('STALE_VERSION');
    expect(error.category).to.equal('precondition-failed');
    expect(await world.stored(product.id)).to.deep.include({
      name: 'Widget',
      stock: 7,
      version: 2,
    });
    expect(events(world.persistence, 'ProductUpdated')).to.have.length(1);
  });

  it('without If-Match retries a lost race on fresh data, keeping the concurrent change', async () => {
    const { world, product } = await setup();
    const deps = { ...world.deps, persistence: losingRaces(world, 2) };
    const updated = await updateProduct(deps, product.id, { name: 'Gadget' }, undefined, 'c');
    // two reservations of one unit each won the races, then the update went through on top of them
    expect(updated).to.deep.include({
      name: 'Gadget',
      stock: product.stock - 2,
      version: 4,
    });
    expect(await world.stored(product.id)).to.deep.equal(updated);
    expect(events(world.persistence, 'ProductUpdated')).to.have.length(1);
  });

  it('with If-Match does not retry a lost race: STALE_VERSION', async () => {
    const { world, product } = await setup();
    const deps = { ...world.deps, persistence: losingRaces(world, 1) };
    const error = await rejection(updateProduct(deps, product.id, { name: 'Gadget' }, 1, 'c'));
    expect(error.code).to.equal('STALE_VERSION');
    expect(await world.stored(product.id)).to.deep.include({ name: 'Widget' });
    expect(events(world.persistence, 'ProductUpdated')).to.have.length(0);
  });

  it('gives up with STALE_VERSION after losing five races in a row', async () => {
    const { world, product } = await setup();
    const deps = { ...world.deps, persistence: losingRaces(world, 5) };
    const error = await rejection(updateProduct(deps, product.id, { name: 'Gadget' }, undefined, 'c'));
    expect(error.code).to.equal('STALE_VERSION');
    expect(await world.stored(product.id)).to.deep.include({ name: 'Widget' });
  });

  it('refuses an invalid change with INVALID_PRODUCT and changes nothing', async () => {
    const { world, product } = await setup();
    const error = await rejection(updateProduct(world.deps, product.id, { priceCents: -1 }, undefined, 'c'));
    expect(error.code).to.equal('INVALID_PRODUCT');
    expect(await world.stored(product.id)).to.deep.equal(product);
    expect(events(world.persistence, 'ProductUpdated')).to.have.length(0);
  });

  it('refuses an unknown product with PRODUCT_NOT_FOUND', async () => {
    const { world } = await setup();
    const error = await rejection(updateProduct(world.deps, crypto.randomUUID(), { name: 'x' }, undefined, 'c'));
    expect(error.code).to.equal('PRODUCT_NOT_FOUND');
    expect(error.category).to.equal('not-found');
  });

  it('invalidates the cached product', async () => {
    const { world, product } = await setup();
    await getProduct(world.deps, product.id);
    await updateProduct(world.deps, product.id, { name: 'Gadget' }, undefined, 'c');
    expect(await world.cache.get(`product:${product.id}`)).to.equal(undefined);
    const read = await getProduct(world.deps, product.id);
    expect(read.version).to.equal(2);
    expect(JSON.parse(read.json)).to.deep.include({ name: 'Gadget', version: 2 });
  });
});

describe('deleteProduct', () => {
  it('removes the product and writes ProductDeleted at the next version', async () => {
    const world = productWorld();
    const product = await createProduct(world.deps, productInput(), 'corr-0');
    await deleteProduct(world.deps, product.id, 'corr-1');
    expect(await world.stored(product.id)).to.equal(undefined);
    const [event, ...rest] = events(world.persistence, 'ProductDeleted');
    expect(rest).to.have.length(0);
    expect(event).to.deep.include({
      aggregateId: product.id,
      correlationId: 'corr-1',
    });
    expect(event!.payload).to.deep.equal({ id: product.id, version: 2 });
  });

  it('invalidates the cached product, so it reads as not found', async () => {
    const world = productWorld();
    const product = await createProduct(world.deps, productInput(), 'corr-0');
    await getProduct(world.deps, product.id);
    await deleteProduct(world.deps, product.id, 'corr-1');
    expect((await rejection(getProduct(world.deps, product.id))).code).to.equal('PRODUCT_NOT_FOUND');
  });

  it('refuses an unknown product with PRODUCT_NOT_FOUND and writes no event', async () => {
    const world = productWorld();
    const error = await rejection(deleteProduct(world.deps, crypto.randomUUID(), 'corr-1'));
    expect(error.code).to.equal('PRODUCT_NOT_FOUND');
    expect(outbox(world.persistence)).to.have.length(0);
  });

  it('deletes only once: the second delete is PRODUCT_NOT_FOUND', async () => {
    const world = productWorld();
    const product = await createProduct(world.deps, productInput(), 'corr-0');
    await deleteProduct(world.deps, product.id, 'corr-1');
    expect((await rejection(deleteProduct(world.deps, product.id, 'corr-2'))).code).to.equal('PRODUCT_NOT_FOUND');
    expect(events(world.persistence, 'ProductDeleted')).to.have.length(1);
  });
});
