import type { Inbox, Outbox } from '../../../../shared/messaging/outbox.port.ts';
import type { Product } from '../../domain/product.ts';
import type { ProductDocument } from '../product-document.ts';
import type { Reservation, ReservationStatus } from '../../domain/reservation.ts';

export interface ProductQuery {
  limit: number;
  after?: string | undefined;
  /** Case-insensitive substring of name or sku. */
  q?: string | undefined;
  /** See `ReadAfter`. */
  readAfter?: ReadAfter | undefined;
}

/**
 * The commit position of a write the reader made (opaque here: a MariaDB GTID on MySQL), which a read must
 * see. A read without one may be served by a read replica a little behind; with one, the adapter waits
 * briefly for a replica to reach it or reads from the primary.
 */
export type ReadAfter = string;

/**
 * A read position meaning "the primary, whatever a replica has": what a cache fills from, so that no replica
 * behind a change can put an old version in it. Never a client's (their positions are GTIDs).
 */
export const LATEST: ReadAfter = 'latest';

export interface ProductRepository {
  findById(id: string): Promise<Product | null>;
  /**
   * The product as GET /products/{id} answers it (its JSON and version): what a cache in front of the
   * repository keeps as text, so a hit is handed on without parsing (adapters/cache/product).
   */
  findDocument(id: string, readAfter?: ReadAfter): Promise<ProductDocument | null>;
  findByIds(ids: readonly string[]): Promise<Product[]>;
  /** Ordered by id; returns at most `limit` rows after the cursor. */
  list(query: ProductQuery): Promise<Product[]>;
  /** Throws ProductErrors.skuTaken when the sku exists. */
  insert(product: Product): Promise<void>;
  /** Compare-and-set on the version: false when the stored version is not `expectedVersion`. */
  update(product: Product, expectedVersion: number): Promise<boolean>;
  delete(id: string): Promise<Product | null>;
  /**
   * Atomically adds `delta` (negative to take) to the stock when the result stays >= 0, moving the version on.
   * One conditional UPDATE, never read-then-write. False when there was not enough stock or no product.
   */
  adjustStock(id: string, delta: number, now: Date): Promise<boolean>;
}

/** The code of the DomainError `ReservationRepository.insert` throws when the order has a reservation already. */
export const RESERVATION_EXISTS = 'RESERVATION_EXISTS';

export interface ReservationRepository {
  find(orderId: string): Promise<Reservation | null>;
  /** Throws a DomainError coded RESERVATION_EXISTS when the order has one (the unique key is the idempotency guard). */
  insert(reservation: Reservation): Promise<void>;
  /**
   * Stores the reservation if its stored status is still `expectedStatus` (compare-and-set); false when
   * another transaction moved it first. Concurrent releases rely on this to give stock back once.
   */
  update(reservation: Reservation, expectedStatus: ReservationStatus): Promise<boolean>;
}

export interface ProductTransaction {
  products: ProductRepository;
  reservations: ReservationRepository;
  outbox: Outbox;
  inbox: Inbox;
}

/** The product module's storage: reads outside a transaction, writes inside one, with the outbox. */
export interface ProductPersistence {
  products: ProductRepository;
  transaction<T>(work: (tx: ProductTransaction) => Promise<T>): Promise<T>;
}
