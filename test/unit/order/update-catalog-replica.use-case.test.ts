import { expect } from 'chai';
import { InMemoryOrderPersistence } from '../../../src/adapters/persistence/in-memory/in-memory-order-persistence.ts';
import type { CatalogEntry } from '../../../src/modules/order/application/ports/order-persistence.port.ts';
import { updateCatalogReplica } from '../../../src/modules/order/application/use-cases/update-catalog-replica.use-case.ts';
import { newId } from '../../../src/shared/id.ts';
import { inboxEntry } from '../fixtures.ts';

const productId = newId();

const entry = (overrides: Partial<CatalogEntry> = {}): CatalogEntry => ({
  productId,
  sku: 'LAMP-1',
  name: 'Lamp',
  priceCents: 1000,
  currency: 'EUR',
  version: 1,
  deleted: false,
  ...overrides,
});

function replica() {
  const persistence = new InMemoryOrderPersistence();
  return {
    persistence,
    apply: (e: CatalogEntry, inbox = inboxEntry('order-service')) => updateCatalogReplica({ persistence }, e, inbox),
    read: async () => (await persistence.catalog.findByIds([productId]))[0],
  };
}

describe('updateCatalogReplica', () => {
  it('stores a product it has not seen', async () => {
    const r = replica();
    await r.apply(entry());
    expect(await r.read()).to.deep.equal(entry());
  });

  it('replaces the entry with a newer version', async () => {
    const r = replica();
    await r.apply(entry());
    await r.apply(entry({ version: 2, priceCents: 1500, name: 'Desk lamp' }));
    expect(await r.read()).to.deep.equal(entry({ version: 2, priceCents: 1500, name: 'Desk lamp' }));
  });

  it('ignores an older version arriving late', async () => {
    const r = replica();
    await r.apply(entry({ version: 3, priceCents: 3000 }));
    await r.apply(entry({ version: 2, priceCents: 2000 }));
    expect(await r.read()).to.deep.include({ version: 3, priceCents: 3000 });
  });

  it('ignores another fact at the version it holds', async () => {
    const r = replica();
    await r.apply(entry({ version: 2, priceCents: 2000 }));
    await r.apply(entry({ version: 2, priceCents: 9999 }));
    expect(await r.read()).to.deep.include({ version: 2, priceCents: 2000 });
  });

  it('ignores a redelivered event, recording each event once', async () => {
    const r = replica();
    const inbox = inboxEntry('order-service');
    await r.apply(entry({ version: 1 }), inbox);
    await r.apply(entry({ version: 2, priceCents: 2000 }), inbox);
    expect(await r.read()).to.deep.include({ version: 1, priceCents: 1000 });
    expect(r.persistence.transactions.state.processed.has(`order-service/${inbox.eventId}`)).to.equal(true);
  });

  it('keeps a deletion as a tombstone that an older update cannot undo', async () => {
    const r = replica();
    await r.apply(entry({ version: 1 }));
    await r.apply(entry({ version: 3, deleted: true }));
    await r.apply(entry({ version: 2, priceCents: 2000 }));
    expect(await r.read()).to.deep.include({ version: 3, deleted: true });
  });

  it('writes nothing to the outbox', async () => {
    const r = replica();
    await r.apply(entry());
    expect(r.persistence.transactions.state.outbox).to.have.length(0);
  });
});
