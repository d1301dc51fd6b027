import {
  type CatalogEntry,
  type CatalogReplicaRepository,
  IDEMPOTENCY_KEY_TAKEN,
  type IdempotencyRecord,
  type IdempotencyRepository,
  type OrderPersistence,
  type OrderQuery,
  type OrderRepository,
  type OrderTransaction,
} from '../../../modules/order/application/ports/order-persistence.port.ts';
import { Order, type OrderProps } from '../../../modules/order/domain/order.ts';
import { DomainError } from '../../../shared/domain-error.ts';
import { emptyOutboxState, InMemoryOutbox, InMemoryTransactions, type OutboxState } from './in-memory-transactions.ts';

interface OrderState extends OutboxState {
  orders: Map<string, OrderProps>;
  idempotency: Map<string, IdempotencyRecord>;
  catalog: Map<string, CatalogEntry>;
}

class InMemoryOrderRepository implements OrderRepository {
  readonly #state: OrderState;

  constructor(state: OrderState) {
    this.#state = state;
  }

  async findById(id: string) {
    const props = this.#state.orders.get(id);
    return props ? Order.restore(structuredClone(props)) : null;
  }

  async list(query: OrderQuery) {
    return [...this.#state.orders.values()]
      .filter((o) => query.customerId === undefined || o.customerId === query.customerId)
      .filter((o) => !query.status || o.status === query.status)
      .filter((o) => !query.after || o.id > query.after)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, query.limit)
      .map((o) => Order.restore(structuredClone(o)));
  }

  async insert(order: Order) {
    this.#state.orders.set(order.id, order.toProps());
  }

  async update(order: Order, expectedVersion: number) {
    const stored = this.#state.orders.get(order.id);
    if (!stored || stored.version !== expectedVersion) return false;
    this.#state.orders.set(order.id, order.toProps());
    return true;
  }
}

class InMemoryIdempotencyRepository implements IdempotencyRepository {
  readonly #state: OrderState;

  constructor(state: OrderState) {
    this.#state = state;
  }

  async find(customerId: string, key: string) {
    return structuredClone(this.#state.idempotency.get(`${customerId}/${key}`) ?? null);
  }

  async insert(record: IdempotencyRecord) {
    const k = `${record.customerId}/${record.key}`;
    if (this.#state.idempotency.has(k))
      throw new DomainError('conflict', IDEMPOTENCY_KEY_TAKEN, `key ${record.key} is taken`);
    this.#state.idempotency.set(k, structuredClone(record));
  }
}

class InMemoryCatalogReplicaRepository implements CatalogReplicaRepository {
  readonly #state: OrderState;

  constructor(state: OrderState) {
    this.#state = state;
  }

  async findByIds(ids: readonly string[]) {
    return ids.flatMap((id) => {
      const entry = this.#state.catalog.get(id);
      return entry ? [structuredClone(entry)] : [];
    });
  }

  async upsert(entry: CatalogEntry) {
    const stored = this.#state.catalog.get(entry.productId);
    if (!stored || stored.version < entry.version) this.#state.catalog.set(entry.productId, structuredClone(entry));
  }
}

/** order_db in memory, for use-case tests; behaves as the MikroORM adapter does (see the contract test). */
export class InMemoryOrderPersistence implements OrderPersistence {
  readonly transactions: InMemoryTransactions<OrderState>;

  constructor(onEventsCommitted?: () => void) {
    const state: OrderState = { ...emptyOutboxState(), orders: new Map(), idempotency: new Map(), catalog: new Map() };
    this.transactions = new InMemoryTransactions(state, onEventsCommitted);
  }

  get orders(): OrderRepository {
    return new InMemoryOrderRepository(this.transactions.state);
  }

  get catalog(): CatalogReplicaRepository {
    return new InMemoryCatalogReplicaRepository(this.transactions.state);
  }

  get idempotency(): IdempotencyRepository {
    return new InMemoryIdempotencyRepository(this.transactions.state);
  }

  transaction<T>(work: (tx: OrderTransaction) => Promise<T>): Promise<T> {
    return this.transactions.run((draft) => {
      const outbox = new InMemoryOutbox(draft);
      return work({
        orders: new InMemoryOrderRepository(draft),
        idempotency: new InMemoryIdempotencyRepository(draft),
        catalog: new InMemoryCatalogReplicaRepository(draft),
        outbox,
        inbox: outbox,
      });
    });
  }
}
