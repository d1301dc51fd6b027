import { expect } from 'chai';
import { OutboxRelay, type OutboxRecord, type OutboxStore } from '../../src/adapters/messaging/outbox-relay.ts';
import { newId } from '../../src/shared/id.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import type { EventBus } from '../../src/shared/messaging/event-bus.port.ts';
import type { EventEnvelope } from '../../src/shared/messaging/event-envelope.ts';
import type { Outbox } from '../../src/shared/messaging/outbox.port.ts';
import { envelope } from './event-bus.contract.ts';

export interface OutboxUnderTest {
  /** Commits events to the outbox in one transaction, as a use case does. */
  append(topic: string, events: EventEnvelope[]): Promise<void>;
  /** Runs work on the outbox in one transaction. */
  inTransaction(work: (outbox: Outbox) => Promise<void>): Promise<void>;
  /** Two stores over the same database, as two relays in two processes have (separate connections). */
  stores: [OutboxStore, OutboxStore];
  dispose(): Promise<void>;
}

/** What a relay would be handed now, without marking anything. */
export async function peek(store: OutboxStore, limit = 100): Promise<OutboxRecord[]> {
  let seen: OutboxRecord[] = [];
  await store.withClaim(limit, async (records) => {
    seen = [...records];
    return [];
  });
  return seen;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Appends `count` events spread over `aggregates`, a few per transaction; returns them in commit order. */
async function appendMany(t: OutboxUnderTest, count: number, aggregates: string[]): Promise<EventEnvelope[]> {
  const all: EventEnvelope[] = [];
  for (let i = 0; i < count; i += 3) {
    const batch = Array.from({ length: Math.min(3, count - i) }, (_, j) =>
      envelope(aggregates[(i + j) % aggregates.length]!, `E${i + j}`),
    );
    await t.append('product-events', batch);
    all.push(...batch);
  }
  return all;
}

const inOrderPerAggregate = (events: EventEnvelope[]) => {
  const byAggregate = new Map<string, string[]>();
  for (const e of events) byAggregate.set(e.aggregateId, [...(byAggregate.get(e.aggregateId) ?? []), e.id]);
  return byAggregate;
};

/**
 * What every OutboxStore must do when several relays share one database: one relay at a time holds the
 * lease, so no row is ever handed to two of them in a burst, and each aggregate's events keep their order.
 */
export function describeOutboxStoreContract(name: string, make: () => Promise<OutboxUnderTest>) {
  describe(`OutboxStore contract: ${name}`, function () {
    this.timeout(60_000);
    let t: OutboxUnderTest;
    beforeEach(async () => {
      t = await make();
    });
    afterEach(() => t.dispose());

    const HOUR = 3_600_000;
    const ids = (records: OutboxRecord[]) => records.map((r) => r.event.id);

    it('hands out a scheduled event only once it is due, in its place in commit order', async () => {
      const aggregate = newId();
      const [past, future, due] = [envelope(aggregate), envelope(aggregate), envelope(aggregate)];
      await t.inTransaction(async (outbox) => {
        await outbox.append('order-events', [past], { notBefore: new Date(Date.now() - HOUR) });
        await outbox.append('order-events', [future], { notBefore: new Date(Date.now() + HOUR) });
        await outbox.append('order-events', [due]);
      });
      expect(ids(await peek(t.stores[0]))).to.deep.equal([past.id, due.id]);
    });

    it("withdraws only the aggregate's scheduled events that have not gone out", async () => {
      const [a, b] = [newId(), newId()];
      const [aDue, aHeld, bHeld] = [envelope(a), envelope(a), envelope(b)];
      const later = new Date(Date.now() + HOUR);
      await t.inTransaction(async (outbox) => {
        await outbox.append('order-events', [aDue]);
        await outbox.append('order-events', [aHeld], { notBefore: later });
        await outbox.append('order-events', [bHeld], { notBefore: later });
      });
      await t.inTransaction((outbox) => outbox.withdrawScheduled(a));
      await t.inTransaction((outbox) => outbox.releaseScheduled(b));
      expect(ids(await peek(t.stores[0]))).to.deep.equal([aDue.id, bHeld.id]);
      await t.inTransaction((outbox) => outbox.withdrawScheduled(b)); // released: due now, no longer withdrawable
      expect(ids(await peek(t.stores[0]))).to.deep.equal([aDue.id, bHeld.id]);
    });

    it('releases scheduled events into their place in commit order', async () => {
      const aggregate = newId();
      const [held, after] = [envelope(aggregate), envelope(aggregate)];
      await t.inTransaction(async (outbox) => {
        await outbox.append('order-events', [held], { notBefore: new Date(Date.now() + HOUR) });
        await outbox.append('order-events', [after]);
      });
      expect(ids(await peek(t.stores[0]))).to.deep.equal([after.id]);
      await t.inTransaction((outbox) => outbox.releaseScheduled(aggregate));
      expect(ids(await peek(t.stores[0]))).to.deep.equal([held.id, after.id]);
    });

    it('rolls a withdrawal back with its transaction', async () => {
      const aggregate = newId();
      const held = envelope(aggregate);
      await t.inTransaction((outbox) => outbox.append('order-events', [held], { notBefore: new Date(Date.now() - 1) }));
      const failed = t.inTransaction(async (outbox) => {
        await outbox.withdrawScheduled(aggregate);
        throw new Error('rolled back');
      });
      await failed.then(
        () => expect.fail('should have thrown'),
        (e: Error) => expect(e.message).to.equal('rolled back'),
      );
      expect(ids(await peek(t.stores[0]))).to.deep.equal([held.id]);
    });

    it('gives a second relay nothing while the first holds the lease', async () => {
      const [a, b] = t.stores;
      const events = [envelope(newId()), envelope(newId())];
      await t.append('product-events', events);
      let inner: number | undefined;
      let innerPublished = false;
      const outer = await a.withClaim(10, async (records) => {
        expect(records.map((r) => r.event.id)).to.deep.equal(events.map((e) => e.id));
        inner = await b.withClaim(10, async (r) => {
          innerPublished = true;
          return r.map((x) => x.seq);
        });
        return records.map((r) => r.seq);
      });
      expect(outer).to.equal(2);
      expect(inner).to.equal(0);
      expect(innerPublished).to.equal(false);
      expect(await peek(b)).to.deep.equal([]);
    });

    it('releases the lease, marking nothing, when publishing throws', async () => {
      const [a, b] = t.stores;
      const event = envelope(newId());
      await t.append('product-events', [event]);
      const failed = a.withClaim(10, async () => {
        throw new Error('bus down');
      });
      await failed.then(
        () => expect.fail('should have thrown'),
        (e: Error) => expect(e.message).to.equal('bus down'),
      );
      // The lease is free again (another relay gets the batch) and nothing was marked.
      expect((await peek(b)).map((r) => r.event.id)).to.deep.equal([event.id]);
    });

    it('marks published only the claimed seqs publish returns', async () => {
      const [a] = t.stores;
      const events = [envelope(newId()), envelope(newId()), envelope(newId())];
      await t.append('product-events', events);
      const claimed = await peek(a);
      await a.withClaim(2, async (records) => [records[1]!.seq, claimed[2]!.seq]); // [2] was not claimed
      expect((await peek(a)).map((r) => r.event.id)).to.deep.equal([events[0]!.id, events[2]!.id]);
    });

    it('never hands the same row to two concurrent claims, while writers keep appending', async () => {
      const aggregates = Array.from({ length: 4 }, () => newId());
      const handedOut: EventEnvelope[] = [];
      let inside = 0;
      let mostInside = 0;
      let writing = true;
      const writer = appendMany(t, 60, aggregates).finally(() => {
        writing = false;
      });
      const relay = async (store: OutboxStore) => {
        for (;;) {
          const sent = await store.withClaim(7, async (records) => {
            mostInside = Math.max(mostInside, ++inside);
            handedOut.push(...records.map((r) => r.event));
            await sleep(2); // publishing takes a while: the other relay tries meanwhile
            inside--;
            return records.map((r) => r.seq);
          });
          if (sent === 0 && !writing && (await peek(store)).length === 0) return;
          if (sent === 0) await sleep(1);
        }
      };
      const [appended] = await Promise.all([writer, relay(t.stores[0]), relay(t.stores[1])]);
      expect(mostInside).to.equal(1);
      const ids = handedOut.map((e) => e.id);
      expect(new Set(ids).size, 'a row was handed out twice').to.equal(ids.length);
      expect([...ids].sort()).to.deep.equal(appended.map((e) => e.id).sort());
      expect(inOrderPerAggregate(handedOut)).to.deep.equal(inOrderPerAggregate(appended));
    });

    it('lets two running relays publish every event once, in order per aggregate', async () => {
      const published: EventEnvelope[] = [];
      const bus: EventBus = {
        async publish(_topic, events) {
          await sleep(1);
          published.push(...events);
        },
        subscribe() {},
        async start() {},
        async stop() {},
        problem: () => null,
        lag: async () => [],
      };
      const options = { batchSize: 5, pollIntervalMs: 5, errorBackoffMs: 50, lingerMs: 1 };
      const relays = t.stores.map((store) => new OutboxRelay(store, bus, silentLogger, options));
      for (const relay of relays) relay.start();
      try {
        const appended = await appendMany(
          t,
          45,
          Array.from({ length: 5 }, () => newId()),
        );
        for (const relay of relays) relay.nudge();
        const deadline = Date.now() + 20_000;
        while (published.length < appended.length && Date.now() < deadline) await sleep(10);
        await sleep(50); // a duplicate would arrive now
        const ids = published.map((e) => e.id);
        expect(new Set(ids).size, 'an event was published twice').to.equal(ids.length);
        expect([...ids].sort()).to.deep.equal(appended.map((e) => e.id).sort());
        expect(inOrderPerAggregate(published)).to.deep.equal(inOrderPerAggregate(appended));
      } finally {
        await Promise.all(relays.map((relay) => relay.stop()));
      }
    });
  });
}
