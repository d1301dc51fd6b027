import { assertCurrency, assertPrice } from './money.ts';
import { ProductErrors } from './product.errors.ts';
import type { ProductSnapshotPayload } from './product.events.ts';
import { assertSku } from './sku.ts';

/** Limits the domain owns; the HTTP schemas are built from them, so one change moves both. */
export const MAX_STOCK = 1_000_000_000;
export const MAX_NAME_LENGTH = 200;
export const MAX_DESCRIPTION_LENGTH = 5000;

export interface ProductProps {
  id: string;
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export type NewProduct = Pick<ProductProps, 'sku' | 'name' | 'description' | 'priceCents' | 'currency' | 'stock'>;
export type ProductChanges = Partial<Pick<ProductProps, 'name' | 'description' | 'priceCents' | 'stock'>>;

/**
 * The catalog entry. Changes go through intent-named methods that check every invariant in one place
 * (`assertValid`), and each change moves the optimistic `version` on by one.
 * Stock taken by reservations does not pass through here: it is a conditional update in storage
 * (see ProductRepository.adjustStock), because read-modify-write would oversell under concurrency.
 */
export class Product {
  readonly #props: ProductProps;

  private constructor(props: ProductProps) {
    Product.assertValid(props);
    this.#props = props;
  }

  static create(id: string, input: NewProduct, now: Date): Product {
    assertStockInput(input.stock);
    return new Product({ ...input, id, version: 1, createdAt: now, updatedAt: now });
  }

  /** Rebuilds a product from storage; the data was valid when written. */
  static restore(props: ProductProps): Product {
    return new Product(props);
  }

  get id(): string {
    return this.#props.id;
  }

  get version(): number {
    return this.#props.version;
  }

  get sku(): string {
    return this.#props.sku;
  }

  /** Returns the changed product; this one is left as it was (the caller may still need the old version). */
  change(changes: ProductChanges, now: Date): Product {
    if (changes.stock !== undefined) assertStockInput(changes.stock);
    return new Product({ ...this.#props, ...changes, version: this.#props.version + 1, updatedAt: now });
  }

  toProps(): ProductProps {
    return { ...this.#props };
  }

  toPayload(): ProductSnapshotPayload {
    const { createdAt: _c, updatedAt: _u, ...payload } = this.#props;
    return payload;
  }

  private static assertValid(p: ProductProps): void {
    assertSku(p.sku);
    assertPrice(p.priceCents);
    assertCurrency(p.currency);
    if (p.name.trim().length === 0 || p.name.length > MAX_NAME_LENGTH) {
      throw ProductErrors.invalid('name', `must be 1-${MAX_NAME_LENGTH} characters and not blank`);
    }
    if (p.description.length > MAX_DESCRIPTION_LENGTH) {
      throw ProductErrors.invalid('description', `must be at most ${MAX_DESCRIPTION_LENGTH} characters`);
    }
    if (!Number.isSafeInteger(p.stock) || p.stock < 0) throw ProductErrors.invalid('stock', 'must be an integer >= 0');
  }
}

/**
 * The cap applies to what an admin sets. Released reservations may lift stored stock a little above it,
 * and a product must still load then.
 */
function assertStockInput(stock: number): void {
  if (!Number.isSafeInteger(stock) || stock < 0 || stock > MAX_STOCK) {
    throw ProductErrors.invalid('stock', `must be an integer from 0 to ${MAX_STOCK}`);
  }
}
