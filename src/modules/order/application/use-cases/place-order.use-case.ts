import { DomainError } from '../../../../shared/domain-error.ts';
import { newId } from '../../../../shared/id.ts';
import { OrderErrors } from '../../domain/order.errors.ts';
import { Order, type OrderItem, type OrderProps } from '../../domain/order.ts';
import { IDEMPOTENCY_KEY_TAKEN, type IdempotencyRecord, type PlacementMode } from '../ports/order-persistence.port.ts';
import { emit, type OrderDependencies } from './order-context.ts';
import { settleOrder } from './settle-order.use-case.ts';

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
  /** The mode the order was placed in: a replayed request answers like the first one. */
  mode: PlacementMode;
}

/**
 * Records the order as PENDING together with OrderPlaced (one transaction), so an accepted order always
 * settles even if this process dies now. In sync mode it then asks the product module directly and
 * returns the final state; in async mode the events settle it.
 */
export async function placeOrder(deps: OrderDependencies, cmd: PlaceOrderCommand): Promise<PlacedOrder> {
  const replay = await findReplay(deps, cmd);
  if (replay) return replay;

  const order = await priceOrder(deps, cmd);
  const change = order.unknownProduct
    ? Order.refuse(order.input, 'UNKNOWN_PRODUCT')
    : order.currencies > 1
      ? Order.refuse(order.input, 'MIXED_CURRENCY')
      : Order.place(order.input);
  try {
    await deps.persistence.transaction(async (tx) => {
      if (cmd.idempotency) await tx.idempotency.insert(idempotencyRecord(cmd, change.order.id, deps.clock.now()));
      await tx.orders.insert(change.order);
      await emit(deps, tx.outbox, cmd.correlationId, change.event);
    });
  } catch (error) {
    // A concurrent request with the same key won the insert: answer as it did.
    if (error instanceof DomainError && error.code === IDEMPOTENCY_KEY_TAKEN) {
      const winner = await findReplay(deps, cmd);
      if (winner) return winner;
    }
    throw error;
  }
  return { order: await settleInMode(deps, change.order.toProps(), cmd), mode: cmd.mode };
}

async function findReplay(deps: OrderDependencies, cmd: PlaceOrderCommand): Promise<PlacedOrder | null> {
  if (!cmd.idempotency) return null;
  const record = await deps.persistence.idempotency.find(cmd.customerId, cmd.idempotency.key);
  if (!record) return null;
  if (record.requestHash !== cmd.idempotency.requestHash) throw OrderErrors.idempotencyKeyReused(cmd.idempotency.key);
  const order = await deps.persistence.orders.findById(record.orderId);
  if (!order) throw OrderErrors.notFound(record.orderId);
  // A sync request that could not reach the product module left the order PENDING; its retry finishes it.
  return { order: await settleInMode(deps, order.toProps(), { ...cmd, mode: record.mode }), mode: record.mode };
}

async function settleInMode(deps: OrderDependencies, order: OrderProps, cmd: PlaceOrderCommand): Promise<OrderProps> {
  if (cmd.mode === 'async' || order.status !== 'PENDING') return order;
  const items = order.items.map(({ productId, quantity }) => ({ productId, quantity }));
  const result = await deps.catalog.reserve(order.id, items, cmd.correlationId);
  return (await settleOrder(deps, { orderId: order.id, result, correlationId: cmd.correlationId })) ?? order;
}

async function priceOrder(deps: OrderDependencies, cmd: PlaceOrderCommand) {
  const entries = await deps.persistence.catalog.findByIds(cmd.items.map((i) => i.productId));
  const known = new Map(entries.filter((e) => !e.deleted).map((e) => [e.productId, e]));
  const items: OrderItem[] = cmd.items.map(({ productId, quantity }) => {
    const entry = known.get(productId);
    return {
      productId,
      quantity,
      sku: entry?.sku ?? '',
      name: entry?.name ?? '',
      unitPriceCents: entry?.priceCents ?? 0,
    };
  });
  const currencies = new Set([...known.values()].map((e) => e.currency));
  return {
    input: {
      id: newId(),
      customerId: cmd.customerId,
      items,
      currency: [...currencies][0] ?? 'XXX',
      now: deps.clock.now(),
    },
    unknownProduct: known.size < new Set(cmd.items.map((i) => i.productId)).size,
    currencies: currencies.size,
  };
}

function idempotencyRecord(cmd: PlaceOrderCommand, orderId: string, now: Date): IdempotencyRecord {
  const { key, requestHash } = cmd.idempotency!;
  return { customerId: cmd.customerId, key, requestHash, orderId, mode: cmd.mode, createdAt: now };
}
