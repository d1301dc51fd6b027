import { DomainError } from '../../../../shared/domain-error.ts';
import { errorCode } from '../../../../shared/error-code.ts';
import { newId } from '../../../../shared/id.ts';
import { OrderErrors } from '../../domain/order.errors.ts';
import { Order, type OrderItem, type OrderProps } from '../../domain/order.ts';
import { emitOrderEvent } from '../order-events.ts';
import { IDEMPOTENCY_KEY_TAKEN, type IdempotencyRecord, type PlacementMode } from '../ports/order-persistence.port.ts';
import type { OrderPorts } from '../ports/order-ports.ts';
import { settlePending } from './settle-order.use-case.ts';

export interface PlaceOrderCommand {
  customerId: string;
  items: { productId: string; quantity: number }[];
  mode: PlacementMode;
  correlationId: string;
  /** Idempotency-Key and a hash of the request body it came with. */
  idempotency?: { key: string; requestHash: string };
}

export interface PlacedOrder {
  order: OrderProps;
  /**
   * How to answer: `sync` when the order is final, `async` when it is recorded and will settle (202). A sync
   * placement the product module could not answer is answered `async`: the order exists, and says so.
   */
  answer: PlacementMode;
}

/**
 * How long a sync placement's OrderPlaced is held back. The direct call settles the order well within it
 * and withdraws the event; only if this process dies first (or the call outlives it) does the event go
 * out and settle the order through the product module instead. Either way the reservation is idempotent
 * by order id, so a late guard changes nothing.
 */
export const SYNC_GUARD_MS = 30_000;

/**
 * Records the order as PENDING together with OrderPlaced (one transaction), so an accepted order always
 * settles even if this process dies now. Lines the catalog replica does not know yet are left unpriced:
 * the product module decides whether a product exists and what it costs. In sync mode the product module
 * is asked directly and the answer is final; in async mode the events settle the order.
 */
export async function placeOrder(deps: OrderPorts, cmd: PlaceOrderCommand): Promise<PlacedOrder> {
  const replay = await findReplay(deps, cmd);
  if (replay) return replayed(deps, replay);

  const change = Order.place(await provisionalPricing(deps, cmd));
  const now = deps.clock.now();
  const guard = cmd.mode === 'sync' ? { notBefore: new Date(now.getTime() + SYNC_GUARD_MS) } : {};
  try {
    await deps.persistence.transaction(async (tx) => {
      if (cmd.idempotency) await tx.idempotency.insert(idempotencyRecord(cmd, change.order.id, now));
      await tx.orders.insert(change.order);
      await emitOrderEvent(tx.outbox, deps.clock, cmd.correlationId, change.event, guard);
    });
  } catch (error) {
    // A concurrent request with the same key won the insert: answer as it did.
    if (error instanceof DomainError && error.code === IDEMPOTENCY_KEY_TAKEN) {
      const winner = await findReplay(deps, cmd);
      if (winner) return replayed(deps, winner);
    }
    throw error;
  }
  deps.metrics?.orderPlaced(cmd.mode);
  const order = change.order.toProps();
  return cmd.mode === 'sync' ? settleDirectly(deps, order, cmd) : { order, answer: 'async' };
}

function replayed(deps: OrderPorts, placed: PlacedOrder): PlacedOrder {
  deps.metrics?.idempotentReplay();
  return placed;
}

async function findReplay(deps: OrderPorts, cmd: PlaceOrderCommand): Promise<PlacedOrder | null> {
  if (!cmd.idempotency) return null;
  const record = await deps.persistence.idempotency.find(cmd.customerId, cmd.idempotency.key);
  if (!record) return null;
  if (record.requestHash !== cmd.idempotency.requestHash) throw OrderErrors.idempotencyKeyReused(cmd.idempotency.key);
  const found = await deps.persistence.orders.findById(record.orderId);
  if (!found) throw OrderErrors.notFound(record.orderId);
  const order = found.toProps();
  // A sync request the product module could not answer left the order PENDING; its retry tries again.
  if (record.mode === 'sync' && order.status === 'PENDING') return settleDirectly(deps, order, cmd);
  return { order, answer: record.mode };
}

/**
 * Asks the product module to reserve, and settles the order from its answer. The order is recorded
 * already, so nothing here may turn into an error response: if the product module cannot be reached, or
 * the outcome cannot be stored, the client learns the order is PENDING (202) and the events settle it.
 */
async function settleDirectly(deps: OrderPorts, order: OrderProps, cmd: PlaceOrderCommand): Promise<PlacedOrder> {
  const items = order.items.map(({ productId, quantity }) => ({ productId, quantity }));
  try {
    const result = await deps.catalog.reserve(order.id, items, cmd.correlationId);
    const command = { orderId: order.id, result, correlationId: cmd.correlationId };
    const settled = await settlePending(deps, command, Order.restore(order));
    if (settled && settled.status !== 'PENDING') return { order: settled, answer: 'sync' };
  } catch (error) {
    // The one line for this failure: the catalog adapter throws it with its code and logs only its retries.
    deps.logger.warn('order recorded but not settled directly; events will settle it', {
      code: errorCode(error, 'ORDER_SETTLEMENT_DEFERRED'),
      orderId: order.id,
      error: error instanceof Error ? error.message : String(error),
    });
    await releaseGuard(deps, order.id);
  }
  return { order, answer: 'async' };
}

/** The product module is unreachable now: let OrderPlaced wait for it in the broker rather than in our outbox. */
async function releaseGuard(deps: OrderPorts, orderId: string): Promise<void> {
  try {
    await deps.persistence.transaction((tx) => tx.outbox.releaseScheduled(orderId));
  } catch (error) {
    // The guard goes out when it is due anyway.
    deps.logger.warn('could not release the crash guard early', {
      code: 'CRASH_GUARD_RELEASE_FAILED',
      orderId,
      error: String(error),
    });
  }
}

/** The catalog replica's prices where it knows the product; the rest wait for the product module. */
async function provisionalPricing(deps: OrderPorts, cmd: PlaceOrderCommand) {
  const entries = await deps.persistence.catalog.findByIds(cmd.items.map((i) => i.productId));
  const known = new Map(entries.filter((e) => !e.deleted).map((e) => [e.productId, e]));
  const items: OrderItem[] = cmd.items.map(({ productId, quantity }) => {
    const entry = known.get(productId);
    return {
      productId,
      quantity,
      sku: entry?.sku ?? null,
      name: entry?.name ?? null,
      unitPriceCents: entry?.priceCents ?? null,
    };
  });
  const currencies = new Set([...known.values()].map((e) => e.currency));
  return {
    id: newId(),
    customerId: cmd.customerId,
    items,
    // Several currencies: the product module will reject the order; no single one is right meanwhile.
    currency: currencies.size === 1 ? [...currencies][0]! : null,
    now: deps.clock.now(),
  };
}

function idempotencyRecord(cmd: PlaceOrderCommand, orderId: string, now: Date): IdempotencyRecord {
  const { key, requestHash } = cmd.idempotency!;
  return { customerId: cmd.customerId, key, requestHash, orderId, mode: cmd.mode, createdAt: now };
}
