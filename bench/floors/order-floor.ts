/**
 * The floor for placing an order: the durable writes one CONFIRMED order needs, in the fewest transactions
 * our guarantees allow, with the raw driver (raw-db.ts) and nothing else: no HTTP, no validation, no ORM,
 * no domain objects. `connections` orders are in flight at once for `duration` seconds, as autocannon's
 * connections are against our path. What it leaves behind is what our path leaves behind for a confirmed
 * order (rows, outbox rows, inbox rows): the least work that result takes on the same database and runtime.
 *
 * Sync (the default mode: the client waits for CONFIRMED), per order:
 *   tx1 order_db   INSERT orders (PENDING, lines not priced yet)    the order exists before anyone is asked,
 *                  INSERT outbox OrderPlaced, held back 30 s        and the held-back OrderPlaced is the crash
 *                                                                   guard: if we die now, it settles the order
 *   tx2 product_db SELECT the product (sku, name, price)            the reservation prices the order
 *                  INSERT reservations (order_id is the key)        idempotent by order id: stock is taken once
 *                  INSERT outbox StockReserved                      the outcome, for the event path
 *                  UPDATE products SET stock = stock - n            all or nothing: 0 rows changed rolls back;
 *                    WHERE id = ? AND stock >= n                    last, so the hot row's lock is held only
 *                                                                   from this statement to the commit
 *   tx3 order_db   UPDATE orders CONFIRMED at the reserved prices   the answer, final
 *                    WHERE status = 'PENDING'                       (a settlement by the event path wins once)
 *                  DELETE the held-back OrderPlaced                 the guard is no longer needed
 *                  INSERT outbox OrderConfirmed                     the fact, for other modules
 *   relays         product_db: StockReserved is read by the order side (SELECT orders.status: final, so
 *                  nothing to do; PENDING would settle it as tx3 does, with an inbox row) and marked
 *                  published; order_db: OrderConfirmed is marked published (no consumer acts on it).
 *                  One UPDATE … WHERE seq IN (…) per batch of up to 200 rows per database.
 *   = 3 transactions per order, plus one marking transaction per relay batch.
 *
 * Async (202 at once; the order settles through the events), per order:
 *   tx1 order_db   INSERT orders (PENDING) + INSERT outbox OrderPlaced (due now)
 *   relay          order_db: OrderPlaced handed to the product side, then marked published
 *   tx2 product_db INSERT processed_events (the inbox: a redelivery fails on its key and changes nothing)
 *                  + the four statements of the sync tx2
 *   relay          product_db: StockReserved handed to the order side, then marked published
 *   tx3 order_db   INSERT processed_events + UPDATE orders CONFIRMED + INSERT outbox OrderConfirmed
 *                  (no guard to withdraw: async placement writes none)
 *   relay          order_db: OrderConfirmed marked published
 *   = 3 transactions per order, plus the relays' marking transactions.
 *
 * What the floor leaves out, because no guarantee needs it: the idempotency record (only with an
 * Idempotency-Key header, which the bench does not send), the catalog-replica read that prices a PENDING
 * order provisionally, the reads before each write (the reservation's key and the conditional UPDATEs
 * decide instead), the relay lease (one relay per database here; a second instance would need it), the
 * event bus itself (events are handed over in process, so this is the database floor on Kafka too), and
 * the cache invalidation after a reservation. Events of one aggregate are handled in commit order; events
 * of different orders in parallel (our buses order by partition, which is stricter than the guarantee).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ORDER_SOURCE } from '../../src/modules/order/application/order-events.ts';
import { SYNC_GUARD_MS } from '../../src/modules/order/application/use-cases/place-order.use-case.ts';
import { OrderEventTypes } from '../../src/modules/order/domain/order.events.ts';
import { ORDER_CONSUMER } from '../../src/modules/order/messaging/product-events.consumer.ts';
import { PRODUCT_SOURCE } from '../../src/modules/product/application/product-events.ts';
import { ProductEventTypes, type ReservedLine } from '../../src/modules/product/domain/product.events.ts';
import type { RequestedItem } from '../../src/modules/product/domain/reservation.ts';
import { PRODUCT_CONSUMER } from '../../src/modules/product/messaging/order-events.consumer.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { newId } from '../../src/shared/id.ts';
import { type EventEnvelope, TOPICS } from '../../src/shared/messaging/event-envelope.ts';
import { type EventDraft, makeEvent } from '../../src/shared/messaging/make-event.ts';
import { openRawDatabase, type RawDatabase, type Row, type Statements } from './raw-db.ts';
import { Relay } from './relay-floor.ts';
import type { ScratchDatabases } from './scratch.ts';

export type PlacementMode = 'sync' | 'async';

export interface OrderFloorOptions {
  mode: PlacementMode;
  connections: number;
  /** Seconds of placing orders. */
  duration: number;
  /** Async: the longest wait for the placed orders to settle once placing stops. */
  settleTimeoutMs: number;
  /** Called as the measured window opens and as it closes (before what is still due is relayed). */
  window?: { opened(): Promise<void>; closed(): Promise<void> };
}

export interface OrderFloorResult {
  placed: number;
  confirmed: number;
  /** Sync: the placing time; async: from the first placement to the last confirmation. */
  seconds: number;
  /** What a client would wait for, in ms: sync the confirmation, async the recorded PENDING order. */
  latencies: number[];
  /** Write transactions committed on both databases while placing (and, async, settling). */
  writeTransactions: number;
  deadlockRetries: number;
}

const SQL = {
  insertOrder:
    'insert into orders (id, customer_id, status, rejection_reason, items, total_cents, currency, version, created_at, updated_at) ' +
    "values (?, ?, 'PENDING', null, ?, null, null, 1, ?, ?)",
  insertOutbox:
    'insert into outbox (event_id, topic, aggregate_id, envelope, created_at, published_at, available_at) values (?, ?, ?, ?, ?, null, ?)',
  markProcessed: 'insert into processed_events (consumer, event_id, processed_at) values (?, ?, ?)',
  priceProduct: 'select sku, name, price_cents, currency from products where id = ?',
  insertReservation:
    "insert into reservations (order_id, status, reason, `lines`, created_at, updated_at) values (?, 'RESERVED', null, ?, ?, ?)",
  takeStock: 'update products set stock = stock - ?, version = version + 1, updated_at = ? where id = ? and stock >= ?',
  confirmOrder:
    "update orders set status = 'CONFIRMED', items = ?, total_cents = ?, currency = ?, version = version + 1, updated_at = ? " +
    "where id = ? and status = 'PENDING'",
  withdrawGuard: 'delete from outbox where aggregate_id = ? and published_at is null and available_at is not null',
  orderStatus: 'select status from orders where id = ?',
};

const CUSTOMER = 'floor';

/** Places orders at the floor for `options.duration` seconds on the scratch databases. */
export async function orderFloor(scratch: ScratchDatabases, options: OrderFloorOptions): Promise<OrderFloorResult> {
  const floor = new Floor(scratch, options.mode);
  try {
    return await floor.run(options);
  } finally {
    await floor.close();
  }
}

class Floor {
  readonly #products: RawDatabase;
  readonly #orders: RawDatabase;
  readonly #productRelay: Relay;
  readonly #orderRelay: Relay;
  readonly #mode: PlacementMode;
  readonly #items: RequestedItem[];
  #confirmed = 0;
  #lastConfirmed = 0;

  constructor(scratch: ScratchDatabases, mode: PlacementMode) {
    this.#mode = mode;
    this.#items = [{ productId: scratch.productId, quantity: 1 }];
    this.#products = openRawDatabase(scratch.storage, scratch.productDb);
    this.#orders = openRawDatabase(scratch.storage, scratch.orderDb);
    this.#productRelay = new Relay(this.#products, (event) => this.#onProductEvent(event));
    this.#orderRelay = new Relay(this.#orders, (event) => this.#onOrderEvent(event));
  }

  async run(options: OrderFloorOptions): Promise<OrderFloorResult> {
    const latencies: number[] = [];
    const commits = () => this.#products.commits + this.#orders.commits;
    await options.window?.opened();
    const commitsBefore = commits();
    const started = performance.now();
    const end = started + options.duration * 1000;
    const place = this.#mode === 'sync' ? () => this.#placeSync() : () => this.#placeAsync();
    const worker = async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await place();
        latencies.push(performance.now() - t0);
        await nextTurn(); // timers and I/O get their turn between orders, as between HTTP requests
      }
    };
    await Promise.all(Array.from({ length: options.connections }, worker));
    let finished = performance.now();
    if (this.#mode === 'async') {
      const deadline = finished + options.settleTimeoutMs;
      const relaying = () => this.#productRelay.running && this.#orderRelay.running;
      while (this.#confirmed < latencies.length && relaying() && performance.now() < deadline) await sleep(5);
      finished = this.#lastConfirmed || performance.now();
    }
    const writeTransactions = commits() - commitsBefore;
    await options.window?.closed();
    // What is still due goes out now, outside the measured window, so the next run starts clean.
    for (const relay of [this.#productRelay, this.#orderRelay]) {
      await relay.stop();
      await relay.drain();
    }
    return {
      placed: latencies.length,
      confirmed: this.#confirmed,
      seconds: (finished - started) / 1000,
      latencies,
      writeTransactions,
      deadlockRetries: this.#products.retries + this.#orders.retries,
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.#productRelay.stop(), this.#orderRelay.stop()]);
    await Promise.all([this.#products.close(), this.#orders.close()]);
  }

  /** tx1 with the guard, then the product side directly (tx2), then the answer (tx3). */
  async #placeSync(): Promise<void> {
    const orderId = newId();
    const guardUntil = new Date(Date.now() + SYNC_GUARD_MS);
    await this.#orders.transaction((tx) => this.#recordPending(tx, orderId, guardUntil));
    const lines = await this.#reserve(orderId, this.#items);
    await this.#settle(orderId, lines, { withdrawGuard: true });
  }

  /** tx1 with OrderPlaced due now; the relays and the two consumers do the rest. */
  async #placeAsync(): Promise<void> {
    const orderId = newId();
    await this.#orders.transaction((tx) => this.#recordPending(tx, orderId, null));
    this.#orderRelay.nudge();
  }

  async #recordPending(tx: Statements, orderId: string, guardUntil: Date | null): Promise<void> {
    const now = this.#orders.time(new Date());
    const unpriced = this.#items.map((i) => ({ ...i, sku: null, name: null, unitPriceCents: null }));
    await tx.run(SQL.insertOrder, [orderId, CUSTOMER, JSON.stringify(unpriced), now, now]);
    const placed = orderEvent({
      type: OrderEventTypes.placed,
      aggregateId: orderId,
      payload: { orderId, customerId: CUSTOMER, items: this.#items, totalCents: null, currency: null },
    });
    await append(tx, this.#orders, TOPICS.orderEvents, placed, guardUntil);
  }

  /** tx2: every item or none, priced by the product side, StockReserved in the same transaction. */
  async #reserve(orderId: string, items: readonly RequestedItem[], inboxEventId?: string): Promise<ReservedLine[]> {
    const lines = await this.#products.transaction(async (tx) => {
      const now = new Date();
      if (inboxEventId) await tx.run(SQL.markProcessed, [PRODUCT_CONSUMER, inboxEventId, this.#products.time(now)]);
      const priced: ReservedLine[] = [];
      for (const { productId, quantity } of items) {
        const product = await tx.get(SQL.priceProduct, [productId]);
        if (!product) throw new Error(`floor: product ${productId} is missing`);
        priced.push(lineOf(productId, quantity, product));
      }
      const at = this.#products.time(now);
      await tx.run(SQL.insertReservation, [orderId, JSON.stringify(priced), at, at]);
      const reserved = productEvent({
        type: ProductEventTypes.stockReserved,
        aggregateId: orderId,
        payload: { orderId, lines: priced },
      });
      await append(tx, this.#products, TOPICS.productEvents, reserved, null);
      // In product-id order, as reserveStock does, so two multi-item orders cannot deadlock.
      for (const { productId, quantity } of [...items].sort((a, b) => a.productId.localeCompare(b.productId))) {
        const taken = await tx.run(SQL.takeStock, [quantity, at, productId, quantity]);
        if (taken !== 1) throw new Error(`floor: out of stock for ${productId}`);
      }
      return priced;
    });
    this.#productRelay.nudge();
    return lines;
  }

  /** tx3: CONFIRMED at the reserved prices, OrderConfirmed; false when it was settled already. */
  async #settle(
    orderId: string,
    lines: readonly ReservedLine[],
    how: { withdrawGuard: boolean; inboxEventId?: string },
  ): Promise<boolean> {
    const settled = await this.#orders.transaction(async (tx) => {
      const now = this.#orders.time(new Date());
      if (how.inboxEventId) await tx.run(SQL.markProcessed, [ORDER_CONSUMER, how.inboxEventId, now]);
      const totalCents = lines.reduce((sum, l) => sum + l.unitPriceCents * l.quantity, 0);
      const currency = lines[0]!.currency;
      const items = lines.map(({ currency: _c, ...item }) => item);
      const changed = await tx.run(SQL.confirmOrder, [JSON.stringify(items), totalCents, currency, now, orderId]);
      if (changed !== 1) return false;
      if (how.withdrawGuard) await tx.run(SQL.withdrawGuard, [orderId]);
      const confirmed = orderEvent({
        type: OrderEventTypes.confirmed,
        aggregateId: orderId,
        payload: { orderId, totalCents, currency },
      });
      await append(tx, this.#orders, TOPICS.orderEvents, confirmed, null);
      return true;
    });
    if (settled) {
      this.#confirmed++;
      this.#lastConfirmed = performance.now();
      this.#orderRelay.nudge();
    }
    return settled;
  }

  /** The product side's consumer of order-events: OrderPlaced reserves (async placement only). */
  async #onOrderEvent(event: EventEnvelope): Promise<void> {
    if (event.type !== OrderEventTypes.placed) return; // OrderConfirmed: nothing for the product side
    const { orderId, items } = event.payload as { orderId: string; items: RequestedItem[] };
    await this.#reserve(orderId, items, event.id);
  }

  /** The order side's consumer of product-events: StockReserved settles a PENDING order. */
  async #onProductEvent(event: EventEnvelope): Promise<void> {
    if (event.type !== ProductEventTypes.stockReserved) return;
    const { orderId, lines } = event.payload as { orderId: string; lines: ReservedLine[] };
    if (this.#mode === 'sync') {
      // The direct call has settled it almost always: one read, no write.
      const order = await this.#orders.get(SQL.orderStatus, [orderId]);
      if (order?.status !== 'PENDING') return;
    }
    await this.#settle(orderId, lines, { withdrawGuard: this.#mode === 'sync', inboxEventId: event.id });
  }
}

const orderEvent = <P>(draft: EventDraft<P>) => makeEvent(ORDER_SOURCE, systemClock, newId(), draft);
const productEvent = <P>(draft: EventDraft<P>) => makeEvent(PRODUCT_SOURCE, systemClock, newId(), draft);

function append(
  tx: Statements,
  db: RawDatabase,
  topic: string,
  event: EventEnvelope,
  availableAt: Date | null,
): Promise<number> {
  const now = db.time(new Date());
  const at = availableAt && db.time(availableAt);
  return tx.run(SQL.insertOutbox, [event.id, topic, event.aggregateId, JSON.stringify(event), now, at]);
}

function lineOf(productId: string, quantity: number, product: Row): ReservedLine {
  return {
    productId,
    sku: String(product.sku),
    name: String(product.name),
    unitPriceCents: Number(product.price_cents),
    currency: String(product.currency),
    quantity,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
