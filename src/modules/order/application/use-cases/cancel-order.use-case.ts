import { errorCode } from '../../../../shared/error-code.ts';
import { OrderErrors } from '../../domain/order.errors.ts';
import type { OrderProps } from '../../domain/order.ts';
import type { PlacementMode } from '../ports/order-persistence.port.ts';
import { type Actor, canSee } from '../actor.ts';
import { CAS_ATTEMPTS, emitOrderEvent } from '../order-events.ts';
import type { OrderPorts } from '../ports/order-ports.ts';

export interface CancelOrderCommand {
  orderId: string;
  actor: Actor;
  mode: PlacementMode;
  correlationId: string;
}

/**
 * CONFIRMED → CANCELLED with OrderCancelled in the outbox; the product module releases the stock when it
 * sees the event. In sync mode the release is also asked for directly, so the response means "released";
 * release is idempotent, so the event arriving afterwards changes nothing.
 */
export async function cancelOrder(deps: OrderPorts, cmd: CancelOrderCommand): Promise<OrderProps> {
  for (let attempt = 1; attempt <= CAS_ATTEMPTS; attempt++) {
    const cancelled = await deps.persistence.transaction(async (tx) => {
      const order = await tx.orders.findById(cmd.orderId);
      if (!order || !canSee(cmd.actor, order.customerId)) throw OrderErrors.notFound(cmd.orderId);
      const change = order.cancel(deps.clock.now());
      if (!(await tx.orders.update(change.order, order.version))) return null;
      await emitOrderEvent(tx.outbox, deps.clock, cmd.correlationId, change.event);
      return change.order;
    });
    if (!cancelled) continue;
    deps.metrics?.orderCancelled();
    if (cmd.mode === 'sync') await releaseNow(deps, cmd);
    return cancelled.toProps();
  }
  throw new Error(`order ${cmd.orderId} kept changing while being cancelled`);
}

async function releaseNow(deps: OrderPorts, cmd: CancelOrderCommand): Promise<void> {
  try {
    await deps.catalog.release(cmd.orderId, cmd.correlationId);
  } catch (error) {
    // The cancellation is committed and OrderCancelled will release the stock; the caller need not fail.
    deps.logger.warn('direct stock release failed; the OrderCancelled event will release it', {
      code: errorCode(error, 'STOCK_RELEASE_DEFERRED'),
      orderId: cmd.orderId,
      error: String(error),
    });
  }
}
