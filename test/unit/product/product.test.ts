import { expect } from 'chai';
import { MAX_PRICE_CENTS } from '../../../src/modules/product/domain/money.ts';
import { MAX_STOCK, type NewProduct, Product, type ProductProps } from '../../../src/modules/product/domain/product.ts';
import { outcomeOf, type Reservation } from '../../../src/modules/product/domain/reservation.ts';
import { newId } from '../../../src/shared/id.ts';
import { DomainError } from '../../../src/shared/domain-error.ts';
import { T0, thrown } from '../fixtures.ts';

const LATER = new Date(T0.getTime() + 60_000);

const valid = (overrides: Partial<NewProduct> = {}): NewProduct => ({
  sku: 'WID-001',
  name: 'Widget',
  description: 'A widget',
  priceCents: 1999,
  currency: 'EUR',
  stock: 5,
  ...overrides,
});

const create = (overrides: Partial<NewProduct> = {}) => Product.create(newId(), valid(overrides), T0);

/** Asserts that creating a product with these fields is refused as invalid, naming the field. */
function expectRefused(overrides: Partial<NewProduct>, field: string) {
  const error = thrown(() => create(overrides));
  expect(error.code).to.equal('INVALID_PRODUCT');
  expect(error.category).to.equal('invalid');
  expect(error.message).to.match(new RegExp(`^${field} `));
}

describe('Product', () => {
  describe('create', () => {
    it('starts at version 1 with both timestamps at creation time', () => {
      const id = newId();
      const props = Product.create(id, valid(), T0).toProps();
      expect(props).to.deep.equal({
        ...valid(),
        id,
        version: 1,
        createdAt: T0,
        updatedAt: T0,
      });
    });

    it('accepts skus of letters, digits, ".", "_" and "-" up to 64 characters', () => {
      for (const sku of ['A', '7', 'abc-1.2_3', 'Z'.repeat(64), '0.-_']) {
        expect(create({ sku }).sku).to.equal(sku);
      }
    });

    it('refuses malformed skus', () => {
      for (const sku of ['', '-abc', '.abc', '_abc', 'has space', 'a/b', 'ü-1', 'A'.repeat(65), 'abc\n']) {
        expectRefused({ sku }, 'sku');
      }
    });

    it('refuses a blank name', () => {
      expectRefused({ name: '' }, 'name');
      expectRefused({ name: '   \t' }, 'name');
    });

    it('accepts a 200-character name and refuses 201', () => {
      expect(create({ name: 'n'.repeat(200) }).toProps().name).to.have.length(200);
      expectRefused({ name: 'n'.repeat(201) }, 'name');
    });

    it('accepts a 5000-character description and refuses 5001', () => {
      expect(create({ description: 'd'.repeat(5000) }).toProps().description).to.have.length(5000);
      expectRefused({ description: 'd'.repeat(5001) }, 'description');
    });

    it('accepts prices from 0 to the cap', () => {
      expect(create({ priceCents: 0 }).toProps().priceCents).to.equal(0);
      expect(create({ priceCents: MAX_PRICE_CENTS }).toProps().priceCents).to.equal(MAX_PRICE_CENTS);
    });

    it('refuses negative, fractional, non-finite and over-the-cap prices', () => {
      for (const priceCents of [-1, 0.5, 19.99, MAX_PRICE_CENTS + 1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expectRefused({ priceCents }, 'priceCents');
      }
    });

    it('accepts ISO 4217 currencies', () => {
      for (const currency of ['EUR', 'USD', 'JPY', 'CHF']) {
        expect(create({ currency }).toProps().currency).to.equal(currency);
      }
    });

    it('refuses codes that are not ISO 4217, even well-formed ones such as ABC', () => {
      for (const currency of ['ABC', 'QQQ', 'eur', 'EURO', 'EU', '', '€']) expectRefused({ currency }, 'currency');
    });

    it('accepts stock from 0 to the cap', () => {
      expect(create({ stock: 0 }).toProps().stock).to.equal(0);
      expect(create({ stock: MAX_STOCK }).toProps().stock).to.equal(MAX_STOCK);
    });

    it('refuses negative, fractional and over-the-cap stock', () => {
      for (const stock of [-1, 1.5, MAX_STOCK + 1, Number.NaN]) expectRefused({ stock }, 'stock');
    });
  });

  describe('change', () => {
    it('applies the changes, moves the version on by one and stamps updatedAt only', () => {
      const product = create();
      const changed = product.change({ name: 'Gadget', priceCents: 2500, stock: 9, description: '' }, LATER).toProps();
      expect(changed).to.deep.include({
        name: 'Gadget',
        priceCents: 2500,
        stock: 9,
        description: '',
        version: 2,
      });
      expect(changed.createdAt).to.deep.equal(T0);
      expect(changed.updatedAt).to.deep.equal(LATER);
      expect(changed).to.deep.include({
        id: product.id,
        sku: 'WID-001',
        currency: 'EUR',
      });
    });

    it('bumps the version on every change', () => {
      const v3 = create().change({ stock: 1 }, LATER).change({ stock: 2 }, LATER);
      expect(v3.version).to.equal(3);
    });

    it('leaves the original product as it was', () => {
      const product = create();
      product.change({ name: 'Gadget' }, LATER);
      expect(product.toProps()).to.deep.include({
        name: 'Widget',
        version: 1,
        updatedAt: T0,
      });
    });

    it('checks the invariants of the changed product', () => {
      const product = create();
      for (const changes of [{ name: ' ' }, { priceCents: -5 }, { priceCents: 1.5 }, { stock: -1 }]) {
        expect(thrown(() => product.change(changes, LATER)).code).to.equal('INVALID_PRODUCT');
      }
    });
  });

  describe('restore', () => {
    it('rebuilds the same product from its props', () => {
      const props = create().toProps();
      expect(Product.restore(props).toProps()).to.deep.equal(props);
    });

    it('refuses props that break an invariant', () => {
      const props: ProductProps = { ...create().toProps(), stock: -1 };
      expect(thrown(() => Product.restore(props)).code).to.equal('INVALID_PRODUCT');
    });
  });

  it('hands out copies of its props', () => {
    const product = create();
    product.toProps().name = 'mutated';
    expect(product.toProps().name).to.equal('Widget');
  });

  it('publishes a snapshot payload without timestamps', () => {
    const product = create();
    expect(product.toPayload()).to.deep.equal({
      ...valid(),
      id: product.id,
      version: 1,
    });
  });
});

describe('outcomeOf (reservation)', () => {
  const line = {
    productId: newId(),
    sku: 'S-1',
    name: 'n',
    unitPriceCents: 100,
    currency: 'EUR',
    quantity: 2,
  };
  const reservation = (r: Partial<Reservation>): Reservation => ({
    orderId: newId(),
    status: 'RESERVED',
    reason: null,
    lines: [line],
    createdAt: T0,
    updatedAt: T0,
    ...r,
  });

  it('gives the lines of a reserved reservation', () => {
    expect(outcomeOf(reservation({}))).to.deep.equal({
      status: 'RESERVED',
      lines: [line],
    });
  });

  it('gives the lines of a released reservation', () => {
    expect(outcomeOf(reservation({ status: 'RELEASED' }))).to.deep.equal({
      status: 'RELEASED',
      lines: [line],
    });
  });

  it('gives the reason of a rejected reservation', () => {
    const rejected = reservation({
      status: 'REJECTED',
      reason: 'INSUFFICIENT_STOCK',
      lines: [],
    });
    expect(outcomeOf(rejected)).to.deep.equal({
      status: 'REJECTED',
      reason: 'INSUFFICIENT_STOCK',
    });
  });

  it('still gives a reason when a rejected reservation has none stored', () => {
    expect(outcomeOf(reservation({ status: 'REJECTED', reason: null, lines: [] }))).to.deep.equal({
      status: 'REJECTED',
      reason: 'REJECTED',
    });
  });
});

describe('Product stock above the admin cap', () => {
  it('still loads when released reservations lifted stock above MAX_STOCK, but an admin cannot set it', () => {
    const now = new Date();
    const props = Product.create(
      newId(),
      { sku: 'CAP-1', name: 'Cap', description: '', priceCents: 1, currency: 'EUR', stock: MAX_STOCK },
      now,
    ).toProps();
    const restored = Product.restore({ ...props, stock: MAX_STOCK + 5 });
    expect(restored.toProps().stock).to.equal(MAX_STOCK + 5);
    expect(() => restored.change({ stock: MAX_STOCK + 1 }, now)).to.throw(DomainError);
  });
});
