import { firstDelivery, type InboxEntry } from '../../../../shared/messaging/outbox.port.ts';
import type { CatalogEntry } from '../ports/order-persistence.port.ts';
import type { OrderDependencies } from './order-context.ts';

/** Applies a product fact to the replica; older versions than the stored one are ignored. */
export async function updateCatalogReplica(
  deps: Pick<OrderDependencies, 'persistence'>,
  entry: CatalogEntry,
  inbox: InboxEntry,
): Promise<void> {
  await deps.persistence.transaction(async (tx) => {
    if (await firstDelivery(tx.inbox, inbox)) await tx.catalog.upsert(entry);
  });
}
