import {
  type ProductPersistence,
  type ProductQuery,
  type ProductRepository,
  type ProductTransaction,
  RESERVATION_EXISTS,
  type ReservationRepository,
} from '../../../modules/product/application/ports/product-persistence.port.ts';
import { productDocument } from '../../../modules/product/application/product-document.ts';
import { ProductErrors } from '../../../modules/product/domain/product.errors.ts';
import { Product, type ProductProps } from '../../../modules/product/domain/product.ts';
import type { Reservation, ReservationStatus } from '../../../modules/product/domain/reservation.ts';
import { DomainError } from '../../../shared/domain-error.ts';
import { emptyOutboxState, InMemoryOutbox, InMemoryTransactions, type OutboxState } from './in-memory-transactions.ts';

interface ProductState extends OutboxState {
  products: Map<string, ProductProps>;
  reservations: Map<string, Reservation>;
}

class InMemoryProductRepository implements ProductRepository {
  readonly #state: ProductState;

  constructor(state: ProductState) {
    this.#state = state;
  }

  async findById(id: string) {
    const props = this.#state.products.get(id);
    return props ? Product.restore(structuredClone(props)) : null;
  }

  async findDocument(id: string) {
    const props = this.#state.products.get(id);
    return props ? productDocument(props) : null;
  }

  async findByIds(ids: readonly string[]) {
    return (await Promise.all(ids.map((id) => this.findById(id)))).filter((p): p is Product => p !== null);
  }

  async list(query: ProductQuery) {
    const needle = query.q?.toLowerCase();
    return [...this.#state.products.values()]
      .filter((p) => !query.after || p.id > query.after)
      .filter((p) => !needle || p.name.toLowerCase().includes(needle) || p.sku.toLowerCase().includes(needle))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, query.limit)
      .map((p) => Product.restore(structuredClone(p)));
  }

  async insert(product: Product) {
    if ([...this.#state.products.values()].some((p) => p.sku === product.sku))
      throw ProductErrors.skuTaken(product.sku);
    this.#state.products.set(product.id, product.toProps());
  }

  async update(product: Product, expectedVersion: number) {
    const stored = this.#state.products.get(product.id);
    if (!stored || stored.version !== expectedVersion) return false;
    this.#state.products.set(product.id, product.toProps());
    return true;
  }

  async delete(id: string) {
    const found = await this.findById(id);
    this.#state.products.delete(id);
    return found;
  }

  async adjustStock(id: string, delta: number, now: Date) {
    const stored = this.#state.products.get(id);
    if (!stored || stored.stock + delta < 0) return false;
    this.#state.products.set(id, {
      ...stored,
      stock: stored.stock + delta,
      version: stored.version + 1,
      updatedAt: now,
    });
    return true;
  }
}

class InMemoryReservationRepository implements ReservationRepository {
  readonly #state: ProductState;

  constructor(state: ProductState) {
    this.#state = state;
  }

  async find(orderId: string) {
    const r = this.#state.reservations.get(orderId);
    return r ? structuredClone(r) : null;
  }

  async insert(reservation: Reservation) {
    if (this.#state.reservations.has(reservation.orderId)) {
      throw new DomainError('conflict', RESERVATION_EXISTS, `order ${reservation.orderId} has a reservation`);
    }
    this.#state.reservations.set(reservation.orderId, structuredClone(reservation));
  }

  async update(reservation: Reservation, expectedStatus: ReservationStatus) {
    if (this.#state.reservations.get(reservation.orderId)?.status !== expectedStatus) return false;
    this.#state.reservations.set(reservation.orderId, structuredClone(reservation));
    return true;
  }
}

/** product_db in memory, for use-case tests; behaves as the MikroORM adapter does (see the contract test). */
export class InMemoryProductPersistence implements ProductPersistence {
  readonly transactions: InMemoryTransactions<ProductState>;

  constructor(onEventsCommitted?: () => void) {
    const state: ProductState = { ...emptyOutboxState(), products: new Map(), reservations: new Map() };
    this.transactions = new InMemoryTransactions(state, onEventsCommitted);
  }

  get products(): ProductRepository {
    return new InMemoryProductRepository(this.transactions.state);
  }

  transaction<T>(work: (tx: ProductTransaction) => Promise<T>): Promise<T> {
    return this.transactions.run((draft) => {
      const outbox = new InMemoryOutbox(draft);
      return work({
        products: new InMemoryProductRepository(draft),
        reservations: new InMemoryReservationRepository(draft),
        outbox,
        inbox: outbox,
      });
    });
  }
}
