import { expect } from 'chai';
import type { ProductCatalog } from '../../src/modules/order/application/ports/product-catalog.port.ts';
import type { NewProduct, ProductProps } from '../../src/modules/product/domain/product.ts';
import { newId } from '../../src/shared/id.ts';

export interface ProductCatalogUnderTest {
  catalog: ProductCatalog;
  /** Creates a product in the product module the catalog talks to. */
  addProduct(overrides?: Partial<NewProduct>): Promise<ProductProps>;
  /** The product's stock as product_db has it (undefined when it does not exist). */
  stockOf(productId: string): Promise<number | undefined>;
  dispose(): Promise<void>;
}

const lineOf = (p: ProductProps, quantity: number) => ({
  productId: p.id,
  sku: p.sku,
  name: p.name,
  unitPriceCents: p.priceCents,
  currency: p.currency,
  quantity,
});

/**
 * What every ProductCatalog adapter must do, whether the product module is in this process or behind HTTP:
 * all-or-nothing reservations with priced lines, the same rejections, and idempotence by order id for both
 * reserving and releasing (the order module retries on that promise).
 */
export function describeProductCatalogContract(name: string, make: () => Promise<ProductCatalogUnderTest>) {
  describe(`ProductCatalog contract: ${name}`, function () {
    this.timeout(10_000);
    let t: ProductCatalogUnderTest;
    beforeEach(async () => {
      t = await make();
    });
    afterEach(() => t.dispose());

    it('reserves every item and answers with the lines priced from the catalog', async () => {
      const a = await t.addProduct({ priceCents: 1250, stock: 5 });
      const b = await t.addProduct({ priceCents: 300, stock: 2 });
      const result = await t.catalog.reserve(
        newId(),
        [
          { productId: a.id, quantity: 3 },
          { productId: b.id, quantity: 2 },
        ],
        'corr-1',
      );
      expect(result).to.deep.equal({ status: 'RESERVED', lines: [lineOf(a, 3), lineOf(b, 2)] });
      expect(await t.stockOf(a.id)).to.equal(2);
      expect(await t.stockOf(b.id)).to.equal(0);
    });

    it('rejects the whole order with INSUFFICIENT_STOCK and takes no stock when one item is short', async () => {
      const a = await t.addProduct({ stock: 5 });
      const b = await t.addProduct({ stock: 1 });
      const result = await t.catalog.reserve(
        newId(),
        [
          { productId: a.id, quantity: 5 },
          { productId: b.id, quantity: 2 },
        ],
        'corr-2',
      );
      expect(result).to.deep.equal({ status: 'REJECTED', reason: 'INSUFFICIENT_STOCK' });
      expect(await t.stockOf(a.id)).to.equal(5);
      expect(await t.stockOf(b.id)).to.equal(1);
    });

    it('rejects the whole order with UNKNOWN_PRODUCT and takes no stock when a product does not exist', async () => {
      const a = await t.addProduct({ stock: 5 });
      const result = await t.catalog.reserve(
        newId(),
        [
          { productId: a.id, quantity: 1 },
          { productId: newId(), quantity: 1 },
        ],
        'corr-3',
      );
      expect(result).to.deep.equal({ status: 'REJECTED', reason: 'UNKNOWN_PRODUCT' });
      expect(await t.stockOf(a.id)).to.equal(5);
    });

    it('reserves once per order id: a repeated call takes no more stock and answers the same', async () => {
      const a = await t.addProduct({ stock: 10 });
      const orderId = newId();
      const items = [{ productId: a.id, quantity: 4 }];
      const first = await t.catalog.reserve(orderId, items, 'corr-4');
      const again = await t.catalog.reserve(orderId, items, 'corr-4-retry');
      expect(first.status).to.equal('RESERVED');
      expect(again).to.deep.equal(first);
      expect(await t.stockOf(a.id)).to.equal(6);
    });

    it('reserves once per order id under concurrent calls too', async () => {
      const a = await t.addProduct({ stock: 10 });
      const orderId = newId();
      const items = [{ productId: a.id, quantity: 3 }];
      const results = await Promise.all([1, 2, 3].map((n) => t.catalog.reserve(orderId, items, `corr-5-${n}`)));
      for (const result of results) expect(result).to.deep.equal({ status: 'RESERVED', lines: [lineOf(a, 3)] });
      expect(await t.stockOf(a.id)).to.equal(7);
    });

    it('keeps a rejection for its order id, even once the stock would suffice', async () => {
      const a = await t.addProduct({ stock: 1 });
      const orderId = newId();
      const items = [{ productId: a.id, quantity: 2 }];
      const first = await t.catalog.reserve(orderId, items, 'corr-6');
      expect(first).to.deep.equal({ status: 'REJECTED', reason: 'INSUFFICIENT_STOCK' });
      const other = await t.catalog.reserve(newId(), [{ productId: a.id, quantity: 1 }], 'corr-6-other');
      expect(other.status).to.equal('RESERVED');
      expect(await t.catalog.reserve(orderId, items, 'corr-6-retry')).to.deep.equal(first);
      expect(await t.stockOf(a.id)).to.equal(0);
    });

    it('releases an order’s stock once, however often it is asked', async () => {
      const a = await t.addProduct({ stock: 10 });
      const b = await t.addProduct({ stock: 3 });
      const orderId = newId();
      await t.catalog.reserve(
        orderId,
        [
          { productId: a.id, quantity: 4 },
          { productId: b.id, quantity: 3 },
        ],
        'corr-7',
      );
      await t.catalog.release(orderId, 'corr-7-release');
      await t.catalog.release(orderId, 'corr-7-release-retry');
      expect(await t.stockOf(a.id)).to.equal(10);
      expect(await t.stockOf(b.id)).to.equal(3);
    });

    it('does not reserve again for a released order id', async () => {
      const a = await t.addProduct({ stock: 10 });
      const orderId = newId();
      const items = [{ productId: a.id, quantity: 4 }];
      await t.catalog.reserve(orderId, items, 'corr-8');
      await t.catalog.release(orderId, 'corr-8-release');
      const again = await t.catalog.reserve(orderId, items, 'corr-8-again');
      expect(again).to.deep.equal({ status: 'RELEASED', lines: [lineOf(a, 4)] });
      expect(await t.stockOf(a.id)).to.equal(10);
    });

    it('releases nothing for an order id it never reserved, or rejected', async () => {
      const a = await t.addProduct({ stock: 1 });
      await t.catalog.release(newId(), 'corr-9-unknown');
      const rejected = newId();
      await t.catalog.reserve(rejected, [{ productId: a.id, quantity: 5 }], 'corr-9');
      await t.catalog.release(rejected, 'corr-9-release');
      expect(await t.stockOf(a.id)).to.equal(1);
    });
  });
}
