import type { Inbox, Outbox } from '../../../../shared/messaging/outbox.port.ts';
import type { Order, OrderStatus } from '../../domain/order.ts';

export type PlacementMode = 'sync' | 'async';

export interface OrderQuery {
  /** Undefined lists everyone's orders (admin). */
  customerId?: string | undefined;
  status?: OrderStatus | undefined;
  limit: number;
  after?: string | undefined;
}

export interface OrderRepository {
  findById(id: string): Promise<Order | null>;
  list(query: OrderQuery): Promise<Order[]>;
  insert(order: Order): Promise<void>;
  /** Compare-and-set on the version: false when someone else moved the order first. */
  update(order: Order, expectedVersion: number): Promise<boolean>;
}

export interface IdempotencyRecord {
  customerId: string;
  key: string;
  requestHash: string;
  orderId: string;
  /** The mode the first request ran in; a retry answers the same way. */
  mode: PlacementMode;
  createdAt: Date;
}

/** The code of the DomainError `IdempotencyRepository.insert` throws when the key is taken. */
export const IDEMPOTENCY_KEY_TAKEN = 'IDEMPOTENCY_KEY_TAKEN';

export interface IdempotencyRepository {
  find(customerId: string, key: string): Promise<IdempotencyRecord | null>;
  /** The unique (customer, key) constraint is the guard against two concurrent first requests. */
  insert(record: IdempotencyRecord): Promise<void>;
}

/** The order module's replica of the catalog, fed by product events; orders are priced from it. */
export interface CatalogEntry {
  productId: string;
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  version: number;
  deleted: boolean;
}

export interface CatalogReplicaRepository {
  findByIds(ids: readonly string[]): Promise<CatalogEntry[]>;
  /** Stores the entry unless a newer version is stored already (events may be redelivered). */
  upsert(entry: CatalogEntry): Promise<void>;
}

export interface OrderTransaction {
  orders: OrderRepository;
  idempotency: IdempotencyRepository;
  catalog: CatalogReplicaRepository;
  outbox: Outbox;
  inbox: Inbox;
}

export interface OrderPersistence {
  orders: OrderRepository;
  catalog: CatalogReplicaRepository;
  idempotency: IdempotencyRepository;
  transaction<T>(work: (tx: OrderTransaction) => Promise<T>): Promise<T>;
}
