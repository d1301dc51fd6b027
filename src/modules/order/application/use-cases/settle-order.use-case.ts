import { firstDelivery, type InboxEntry } from '../../../../shared/messaging/outbox.port.ts';
import type { Order, OrderProps } from '../../domain/order.ts';
import type { ReservationResult } from '../ports/product-catalog.port.ts';
import { CAS_ATTEMPTS, emitOrderEvent } from '../order-events.ts';
import type { OrderPorts } from '../ports/order-ports.ts';

export interface SettleOrderCommand {
  orderId: string;
  result: ReservationResult;
  correlationId: string;
  inbox?: InboxEntry;
}

/**
 * Moves a PENDING order to its final state from the product module's answer, at the product module's
 * prices. Two paths call this: the sync call's result and the StockReserved / StockReservationRejected
 * event. The event that follows a direct settlement finds the order final with one read and writes
 * nothing. Settling withdraws the order's crash guard (a held-back OrderPlaced, see placeOrder) in the
 * same transaction: it is no longer needed, and no event of the order may overtake it.
 */
export async function settleOrder(
  deps: Pick<OrderPorts, 'persistence' | 'clock' | 'logger' | 'metrics'>,
  cmd: SettleOrderCommand,
): Promise<OrderProps | null> {
  // A plain read first: the event that follows a direct settlement then costs no transaction.
  const current = await deps.persistence.orders.findById(cmd.orderId);
  if (!current) {
    deps.logger.warn('reservation outcome for an unknown order ignored', {
      code: 'RESERVATION_OUTCOME_UNKNOWN_ORDER',
      orderId: cmd.orderId,
    });
    return null;
  }
  if (current.status !== 'PENDING') return current.toProps();
  return settlePending(deps, cmd);
}

/**
 * Settles an order known to be PENDING a moment ago, with no read first: the direct call just recorded
 * it (`known`, as recorded), so the first attempt moves that version on without reading it back. If
 * anything moved it meanwhile, the compare-and-set fails and the next attempt reads what is there.
 */
export async function settlePending(
  deps: Pick<OrderPorts, 'persistence' | 'clock' | 'logger' | 'metrics'>,
  cmd: SettleOrderCommand,
  known?: Order,
): Promise<OrderProps | null> {
  let assumed = known;
  let moved = false;
  for (let attempt = 1; attempt <= CAS_ATTEMPTS; attempt++) {
    const settled = await deps.persistence.transaction(async (tx) => {
      const order = assumed ?? (await tx.orders.findById(cmd.orderId));
      assumed = undefined;
      if (order?.status !== 'PENDING') return order;
      if (!(await firstDelivery(tx.inbox, cmd.inbox))) return order;
      const change = decide(order, cmd.result, deps.clock.now());
      if (!change) return order;
      if (!(await tx.orders.update(change.order, order.version))) return null;
      await tx.outbox.withdrawScheduled(order.id);
      await emitOrderEvent(tx.outbox, deps.clock, cmd.correlationId, change.event);
      moved = true;
      return change.order;
    });
    if (!settled) continue;
    const props = settled.toProps();
    // Counted once the move is committed, by whichever path (direct call or event) made it.
    if (moved) countSettlement(deps, props);
    return props;
  }
  throw new Error(`order ${cmd.orderId} kept changing while being settled`);
}

function countSettlement(deps: Pick<OrderPorts, 'metrics'>, order: OrderProps): void {
  if (order.status === 'CONFIRMED') deps.metrics?.orderConfirmed(order.totalCents ?? 0, order.currency ?? 'UNKNOWN');
  else if (order.status === 'REJECTED') deps.metrics?.orderRejected(order.rejectionReason ?? 'UNKNOWN');
}

function decide(order: Order, result: ReservationResult, now: Date) {
  switch (result.status) {
    case 'RESERVED':
      return order.confirm(result.lines, now);
    case 'REJECTED':
      return order.reject(result.reason, now);
    default:
      return null; // a released reservation belongs to an order that was settled and cancelled already
  }
}
