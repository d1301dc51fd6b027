import { OrderErrors } from '../../domain/order.errors.ts';
import type { OrderProps } from '../../domain/order.ts';
import { type Actor, canSee } from '../actor.ts';
import type { OrderPersistence } from '../ports/order-persistence.port.ts';

export async function getOrder(
  deps: { persistence: OrderPersistence },
  orderId: string,
  actor: Actor,
): Promise<OrderProps> {
  const order = await deps.persistence.orders.findById(orderId);
  if (!order || !canSee(actor, order.customerId)) throw OrderErrors.notFound(orderId);
  return order.toProps();
}
