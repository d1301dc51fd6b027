import { expect } from 'chai';
import { check, type Letter } from '../../chaos/checker.ts';
import type { Window } from '../../chaos/faults.ts';
import type { Module, Platform } from '../../chaos/platform.ts';
import type { Operation } from '../../chaos/workload.ts';

/** The checker must see what it is there to see: each kind of broken promise, planted in a healthy history. */

type Tables = Record<string, Record<string, unknown>[]>;

const envelope = (id: string, type: string, orderId: string) =>
  JSON.stringify({ id, type, aggregateId: orderId, payload: { orderId } });

function healthy(): { tables: Tables; history: Operation[] } {
  const t0 = new Date('2026-12-02T10:00:00Z');
  const t1 = new Date('2026-12-02T10:00:00.050Z');
  return {
    tables: {
      orders: [{ id: 'o1', customer_id: 'c1', status: 'CONFIRMED', items: '[]', created_at: t0, updated_at: t1 }],
      idempotency_keys: [{ idem_key: 'k1', order_id: 'o1' }],
      reservations: [{ order_id: 'o1', status: 'RESERVED', lines: JSON.stringify([{ productId: 'p1', quantity: 2 }]) }],
      products: [{ id: 'p1', name: 'Lamp', price_cents: 500, stock: 8, version: 2 }],
      catalog_replica: [{ product_id: 'p1', name: 'Lamp', price_cents: 500 }],
      'product outbox': [
        { event_id: 'e2', topic: 'product-events', envelope: envelope('e2', 'StockReserved', 'o1'), published_at: t1 },
      ],
      'order outbox': [
        { event_id: 'e1', topic: 'order-events', envelope: envelope('e1', 'OrderPlaced', 'o1'), published_at: t1 },
        { event_id: 'e3', topic: 'order-events', envelope: envelope('e3', 'OrderConfirmed', 'o1'), published_at: t1 },
      ],
    },
    history: [
      {
        kind: 'order-sync',
        client: 'c1',
        start: t0.getTime(),
        end: t1.getTime(),
        attempts: 1,
        failedAttempts: 0,
        failures: [],
        outcome: 'ok',
        status: 201,
        idempotencyKey: 'k1',
        orderId: 'o1',
        orderStatus: 'CONFIRMED',
      },
    ],
  };
}

function fakePlatform(tables: Tables): Platform {
  const rows = async <T>(module: Module, sql: string): Promise<T[]> => {
    const table = /from (\w+)/.exec(sql)![1]!;
    return (table === 'outbox' ? tables[`${module} outbox`] : tables[table]) as T[];
  };
  return { kind: 'monolith', rows } as unknown as Platform;
}

const windows: Window[] = [
  {
    fault: 'steady',
    what: '',
    start: 0,
    injectedAt: 0,
    healStartedAt: 0,
    healedAt: 0,
    end: Number.MAX_SAFE_INTEGER,
    notes: [],
  },
];

async function violations(plant: (t: Tables, h: Operation[]) => void, letters: Letter[] = []) {
  const { tables, history } = healthy();
  plant(tables, history);
  const verdict = await check(
    fakePlatform(tables),
    { products: [{ id: 'p1', initialStock: 10 }] },
    history,
    windows,
    0,
    async () => letters,
  );
  return verdict.violations.map((v) => v.check);
}

describe('chaos checker', () => {
  it('finds nothing wrong in a healthy history', async () => {
    expect(await violations(() => {})).to.deep.equal([]);
  });

  it('finds an acknowledged order that is not in the database (lost)', async () => {
    const found = await violations((_t, h) => h.push({ ...h[0]!, idempotencyKey: 'k2', orderId: 'o2' }));
    expect(found).to.include('lost');
  });

  it('finds a sync answer the database contradicts (lost)', async () => {
    expect(await violations((t) => (t.orders![0]!.status = 'REJECTED'))).to.include('lost');
  });

  it('finds stock taken without a reservation holding it (oversell)', async () => {
    expect(await violations((t) => (t.products![0]!.stock = 7))).to.deep.equal(['conservation']);
  });

  it('finds a second outcome event for one order (effect applied twice)', async () => {
    const found = await violations((t) =>
      t['product outbox']!.push({
        event_id: 'e9',
        topic: 'product-events',
        envelope: envelope('e9', 'StockReserved', 'o1'),
        published_at: new Date(),
      }),
    );
    expect(found).to.deep.equal(['duplicate']);
  });

  it('finds an order no client key accounts for (duplicate order)', async () => {
    const found = await violations((t) => t.orders!.push({ ...t.orders![0]!, id: 'o3', status: 'REJECTED' }));
    expect(found).to.deep.equal(['duplicate']);
  });

  it('finds an order still PENDING and an event never published (unsettled)', async () => {
    const found = await violations((t) => {
      t.orders![0]!.status = 'PENDING';
      t['order outbox']![1]!.published_at = null;
    });
    expect(found).to.include('unsettled');
  });

  it('finds a catalog replica that missed a product change (unsettled)', async () => {
    expect(await violations((t) => (t.products![0]!.price_cents = 700))).to.deep.equal(['unsettled']);
  });

  it('finds a parked event', async () => {
    const letter = { topic: 'order-events', group: 'product', eventId: 'e1', eventType: 'OrderPlaced', error: 'boom' };
    expect(await violations(() => {}, [letter])).to.deep.equal(['dead letter']);
  });
});
