import { firstDelivery, type InboxEntry } from '../../../../shared/messaging/outbox.port.ts';
import { ProductEventTypes } from '../../domain/product.events.ts';
import type { ReservationOutcome } from '../../domain/reservation.ts';
import { outcomeOf } from '../../domain/reservation.ts';
import type { ProductPorts } from '../ports/product-ports.ts';
import { emitProductEvents, productEvent } from '../product-events.ts';

export interface ReleaseStockCommand {
  orderId: string;
  correlationId: string;
  inbox?: InboxEntry;
}

/**
 * Gives an order's reserved stock back. Idempotent: only a RESERVED reservation is released, once;
 * releasing an unknown, rejected or already released one changes nothing.
 */
export async function releaseStock(deps: ProductPorts, cmd: ReleaseStockCommand): Promise<ReservationOutcome | null> {
  const released = await deps.persistence.transaction(async (tx) => {
    const reservation = await tx.reservations.find(cmd.orderId);
    if (reservation?.status !== 'RESERVED') return null;
    await firstDelivery(tx.inbox, cmd.inbox);
    const now = deps.clock.now();
    const next = { ...reservation, status: 'RELEASED' as const, updatedAt: now };
    // The status moves first, conditionally: of two concurrent releases (the direct call and the
    // OrderCancelled event) only the one that moved it gives the stock back.
    if (!(await tx.reservations.update(next, 'RESERVED'))) return null;
    for (const line of reservation.lines) {
      // A product deleted since the reservation has nowhere to take its stock back; that is fine.
      await tx.products.adjustStock(line.productId, line.quantity, now);
    }
    await emitProductEvents(
      tx.outbox,
      productEvent(deps.clock, cmd.correlationId, {
        type: ProductEventTypes.stockReleased,
        aggregateId: cmd.orderId,
        payload: { orderId: cmd.orderId, lines: reservation.lines },
      }),
    );
    return next;
  });
  return released && outcomeOf(released);
}
