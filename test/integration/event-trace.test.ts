/**
 * Issue 11 end to end in the monolith: an order placed asynchronously with a W3C traceparent writes
 * OrderPlaced with a span of that trace; the product module consumes it in the same trace, so the
 * StockReserved it writes in turn is still in it. Read back from both outboxes' rows.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { expect } from 'chai';
import type { EventEnvelope } from '../../src/shared/messaging/event-envelope.ts';
import { startMonolith, type TestPlatform } from '../support/monolith.ts';
import { createProduct, drainOutboxes, placeOrder, settled, TEST_SETTINGS, tokens } from '../support/shop.ts';
import { traceIdOf } from '../support/log-capture.ts';

describe('event trace through the monolith', function () {
  this.timeout(60_000);
  let platform: TestPlatform;
  before(async () => {
    platform = await startMonolith({ ...TEST_SETTINGS });
  });
  after(() => platform.dispose());

  /** Every event in every outbox of the data dir about this aggregate. */
  const outboxEvents = (aggregateId: string): EventEnvelope[] =>
    readdirSync(platform.dataDir)
      .filter((file) => file.endsWith('.sqlite'))
      .flatMap((file) => {
        const db = new DatabaseSync(join(platform.dataDir, file), { readOnly: true });
        try {
          const tables = db.prepare("select name from sqlite_master where type = 'table' and name = 'outbox'").all();
          if (tables.length === 0) return [];
          return db
            .prepare('select envelope from outbox where aggregate_id = ? order by seq')
            .all(aggregateId)
            .map((row) => JSON.parse(String(row.envelope)) as EventEnvelope);
        } finally {
          db.close();
        }
      });

  it("keeps the request's trace id on the events it causes, across the consumer that reacts to them", async () => {
    const product = await createProduct(platform, { stock: 5 });
    const traceId = randomUUID().replaceAll('-', '');
    const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;
    const customer = tokens(platform).customer('tracy');
    const placed = await placeOrder(platform, customer, [{ productId: product.id, quantity: 1 }], {
      headers: { prefer: 'respond-async', traceparent },
    });
    expect(placed.status, JSON.stringify(placed.body)).to.equal(202);
    await drainOutboxes(platform);
    expect((await settled(platform, customer, placed.body.id)).status).to.equal('CONFIRMED');

    const events = outboxEvents(placed.body.id);
    const types = events.map((e) => e.type);
    expect(types).to.include.members(['OrderPlaced', 'StockReserved']);
    for (const event of events) {
      expect(traceIdOf(event.traceparent), event.type).to.equal(traceId);
      expect(event.traceparent, `${event.type}: a span of its own`).to.not.equal(traceparent);
    }
  });
});
