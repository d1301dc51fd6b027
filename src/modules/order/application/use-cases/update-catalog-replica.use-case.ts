import { firstDelivery, type InboxEntry } from '../../../../shared/messaging/outbox.port.ts';
import type { CatalogEntry, OrderPersistence } from '../ports/order-persistence.port.ts';

/** Applies a product fact to the replica; older versions than the stored one are ignored. */
export async function updateCatalogReplica(
  deps: { persistence: OrderPersistence },
  entry: CatalogEntry,
  inbox: InboxEntry,
): Promise<void> {
  await deps.persistence.transaction(async (tx) => {
    if (await firstDelivery(tx.inbox, inbox)) await tx.catalog.upsert(entry);
  });
}
