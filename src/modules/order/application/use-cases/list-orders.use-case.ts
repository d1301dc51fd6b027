import { type Page, toPage } from '../../../../shared/page.ts';
import type { OrderProps, OrderStatus } from '../../domain/order.ts';
import type { Actor } from '../actor.ts';
import type { OrderPersistence } from '../ports/order-persistence.port.ts';

export interface ListOrdersQuery {
  actor: Actor;
  status?: OrderStatus | undefined;
  limit: number;
  after?: string | undefined;
}

/** A customer lists their own orders; an admin lists everyone's. */
export async function listOrders(
  deps: { persistence: OrderPersistence },
  query: ListOrdersQuery,
): Promise<Page<OrderProps>> {
  const customerId = query.actor.role === 'admin' ? undefined : query.actor.id;
  const rows = await deps.persistence.orders.list({
    customerId,
    status: query.status,
    limit: query.limit + 1,
    after: query.after,
  });
  return toPage(
    rows.map((o) => o.toProps()),
    query.limit,
  );
}
