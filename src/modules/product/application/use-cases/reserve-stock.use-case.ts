import { DomainError } from '../../../../shared/domain-error.ts';
import { firstDelivery, type InboxEntry } from '../../../../shared/messaging/outbox.port.ts';
import type { ReservedLine } from '../../domain/product.events.ts';
import { ProductEventTypes } from '../../domain/product.events.ts';
import {
  outcomeOf,
  RejectionReasons,
  type RequestedItem,
  type Reservation,
  type ReservationOutcome,
} from '../../domain/reservation.ts';
import { type ProductTransaction, RESERVATION_EXISTS } from '../ports/product-persistence.port.ts';
import type { ProductPorts } from '../ports/product-ports.ts';
import { emitProductEvents, productEvent } from '../product-events.ts';

export interface ReserveStockCommand {
  orderId: string;
  items: readonly RequestedItem[];
  correlationId: string;
  /** Set when an event asked for this; recorded in the inbox in the same transaction as the effect. */
  inbox?: InboxEntry;
}

/** Thrown inside the transaction to roll back the stock already taken for an order that cannot be served. */
class Shortfall extends Error {
  constructor() {
    super('insufficient stock');
  }
}

/**
 * Reserves every item of an order or none. Idempotent by order id: a repeated request (a retried HTTP call,
 * a redelivered OrderPlaced) returns the first outcome and takes nothing again.
 */
export async function reserveStock(deps: ProductPorts, cmd: ReserveStockCommand): Promise<ReservationOutcome> {
  const started = performance.now();
  const decision: Decision = { fresh: false };
  const outcome = await reserveOnce(deps, cmd, decision);
  if (decision.fresh) {
    const seconds = (performance.now() - started) / 1000;
    deps.metrics?.stockReservation(outcome.status === 'RESERVED' ? 'reserved' : 'rejected', seconds);
  }
  return outcome;
}

/** Whether this call decided the reservation (a repeat, or the loser of a race, answers with an earlier one). */
interface Decision {
  fresh: boolean;
}

async function reserveOnce(deps: ProductPorts, cmd: ReserveStockCommand, decision: Decision) {
  try {
    return await deps.persistence.transaction((tx) => tryReserve(deps, tx, cmd, decision));
  } catch (error) {
    decision.fresh = false;
    if (error instanceof Shortfall) {
      return deps.persistence
        .transaction((tx) => recordRejection(deps, tx, cmd, RejectionReasons.insufficientStock, decision))
        .catch((again: unknown) => {
          decision.fresh = false;
          return afterRace(deps, cmd, again);
        });
    }
    return afterRace(deps, cmd, error);
  }
}

/** Two paths (the direct call and the OrderPlaced event) raced for one order: the loser answers as the winner did. */
function afterRace(deps: ProductPorts, cmd: ReserveStockCommand, error: unknown): Promise<ReservationOutcome> {
  if (error instanceof DomainError && error.code === RESERVATION_EXISTS) return currentOutcome(deps, cmd.orderId);
  throw error;
}

async function currentOutcome(deps: ProductPorts, orderId: string): Promise<ReservationOutcome> {
  const existing = await deps.persistence.transaction((tx) => tx.reservations.find(orderId));
  if (!existing) throw new Error(`reservation for order ${orderId} vanished`);
  return outcomeOf(existing);
}

async function tryReserve(
  deps: ProductPorts,
  tx: ProductTransaction,
  cmd: ReserveStockCommand,
  decision: Decision,
): Promise<ReservationOutcome> {
  // No read for an earlier reservation first: inserting this one fails on the order's key if there is
  // one (RESERVATION_EXISTS), and afterRace answers with it. A repeat is rare; the read was on every order.
  await firstDelivery(tx.inbox, cmd.inbox);
  const products = await tx.products.findByIds(cmd.items.map((i) => i.productId));
  const byId = new Map(products.map((p) => [p.id, p.toProps()]));
  if (cmd.items.some((i) => !byId.has(i.productId))) {
    return recordRejection(deps, tx, cmd, RejectionReasons.unknownProduct, decision);
  }
  if (new Set(products.map((p) => p.toProps().currency)).size > 1) {
    return recordRejection(deps, tx, cmd, RejectionReasons.mixedCurrency, decision);
  }

  const now = deps.clock.now();
  const lines: ReservedLine[] = cmd.items.map((item) => {
    const p = byId.get(item.productId)!;
    return {
      productId: p.id,
      sku: p.sku,
      name: p.name,
      unitPriceCents: p.priceCents,
      currency: p.currency,
      quantity: item.quantity,
    };
  });
  await tx.reservations.insert({
    orderId: cmd.orderId,
    status: 'RESERVED',
    reason: null,
    lines,
    createdAt: now,
    updatedAt: now,
  });
  await emitProductEvents(
    tx.outbox,
    productEvent(deps.clock, cmd.correlationId, {
      type: ProductEventTypes.stockReserved,
      aggregateId: cmd.orderId,
      payload: { orderId: cmd.orderId, lines },
    }),
  );
  // Stock is taken last: a product's row stays locked from its UPDATE to the commit, and every order for
  // a popular product queues on that lock, so nothing else may run in between. A shortfall rolls back
  // the reservation and the event written above. A fixed lock order (by product id) keeps two
  // multi-item reservations from deadlocking.
  const items = [...cmd.items].sort((a, b) => a.productId.localeCompare(b.productId));
  for (const item of items) {
    if (!(await tx.products.adjustStock(item.productId, -item.quantity, now))) throw new Shortfall();
  }
  decision.fresh = true;
  return { status: 'RESERVED', lines };
}

async function recordRejection(
  deps: ProductPorts,
  tx: ProductTransaction,
  cmd: ReserveStockCommand,
  reason: string,
  decision: Decision,
): Promise<ReservationOutcome> {
  const existing = await tx.reservations.find(cmd.orderId);
  if (existing) return outcomeOf(existing);
  await firstDelivery(tx.inbox, cmd.inbox);
  const now = deps.clock.now();
  const rejection: Reservation = {
    orderId: cmd.orderId,
    status: 'REJECTED',
    reason,
    lines: [],
    createdAt: now,
    updatedAt: now,
  };
  await tx.reservations.insert(rejection);
  decision.fresh = true;
  await emitProductEvents(
    tx.outbox,
    productEvent(deps.clock, cmd.correlationId, {
      type: ProductEventTypes.stockReservationRejected,
      aggregateId: cmd.orderId,
      payload: { orderId: cmd.orderId, reason },
    }),
  );
  return outcomeOf(rejection);
}
