import { expect } from 'chai';
import { newId } from '../../src/shared/id.ts';
import type { EventBus } from '../../src/shared/messaging/event-bus.port.ts';
import type { EventEnvelope } from '../../src/shared/messaging/event-envelope.ts';

export interface BusUnderTest {
  bus: EventBus;
  /** A topic name unique to this test (brokers keep topics between tests). */
  topic: string;
  /** Dead letters parked for a topic/group so far. */
  deadLetters(topic: string, group: string): Promise<EventEnvelope[]>;
  dispose(): Promise<void>;
}

export const envelope = (aggregateId: string, type = 'Tested', payload: unknown = {}): EventEnvelope => ({
  id: newId(),
  type,
  version: 1,
  occurredAt: new Date().toISOString(),
  source: 'contract-test',
  aggregateId,
  correlationId: newId(),
  payload,
});

const waitFor = async (condition: () => boolean, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

/**
 * What every EventBus adapter must do, whatever carries the events: at-least-once delivery to every
 * group, order per aggregate, retry of a failing handler, and parking (never dropping) a poison event
 * without blocking the events behind it.
 */
export function describeEventBusContract(name: string, make: () => Promise<BusUnderTest>) {
  describe(`EventBus contract: ${name}`, function () {
    this.timeout(60_000);
    let t: BusUnderTest;
    beforeEach(async () => {
      t = await make();
    });
    afterEach(() => t.dispose());

    it('delivers every event to every consumer group', async () => {
      const seen: Record<string, string[]> = { a: [], b: [] };
      for (const group of ['a', 'b']) {
        t.bus.subscribe({ topic: t.topic, group, handler: async (e) => void seen[group]!.push(e.id) });
      }
      await t.bus.start();
      const events = [envelope(newId()), envelope(newId()), envelope(newId())];
      await t.bus.publish(t.topic, events);
      await waitFor(() => seen.a!.length >= 3 && seen.b!.length >= 3);
      expect(new Set(seen.a)).to.deep.equal(new Set(events.map((e) => e.id)));
      expect(new Set(seen.b)).to.deep.equal(new Set(events.map((e) => e.id)));
    });

    it('keeps the order of one aggregate', async () => {
      const aggregate = newId();
      const seen: number[] = [];
      t.bus.subscribe({
        topic: t.topic,
        group: 'ordered',
        handler: async (e) => {
          await new Promise((r) => setTimeout(r, Math.random() * 3));
          seen.push((e.payload as { n: number }).n);
        },
      });
      await t.bus.start();
      const events = Array.from({ length: 30 }, (_, n) => envelope(aggregate, 'Tested', { n }));
      await t.bus.publish(t.topic, events.slice(0, 15));
      await t.bus.publish(t.topic, events.slice(15));
      await waitFor(() => seen.length >= 30);
      expect(seen).to.deep.equal(events.map((_, n) => n));
    });

    it('redelivers an event whose handler failed, instead of dropping it', async () => {
      let attempts = 0;
      const handled: string[] = [];
      t.bus.subscribe({
        topic: t.topic,
        group: 'flaky',
        handler: async (e) => {
          attempts += 1;
          if (attempts < 3) throw new Error('transient failure');
          handled.push(e.id);
        },
      });
      await t.bus.start();
      const event = envelope(newId());
      await t.bus.publish(t.topic, [event]);
      await waitFor(() => handled.length > 0);
      expect(handled).to.deep.equal([event.id]);
      expect(attempts).to.equal(3);
    });

    it('parks a poison event on the dead-letter topic and goes on with the partition', async () => {
      const aggregate = newId();
      const handled: string[] = [];
      const poison = envelope(aggregate, 'Poison');
      const next = envelope(aggregate, 'Fine');
      t.bus.subscribe({
        topic: t.topic,
        group: 'strict',
        handler: async (e) => {
          if (e.type === 'Poison') throw new Error('cannot handle this');
          handled.push(e.id);
        },
      });
      await t.bus.start();
      await t.bus.publish(t.topic, [poison, next]);
      await waitFor(() => handled.length > 0);
      expect(handled).to.deep.equal([next.id]);
      let parked: EventEnvelope[] = [];
      const deadline = Date.now() + 20_000;
      while (parked.length === 0 && Date.now() < deadline) {
        parked = await t.deadLetters(t.topic, 'strict');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(parked.map((e) => e.id)).to.deep.equal([poison.id]);
    });

    it('hands handlers a copy with the contract envelope', async () => {
      let received: EventEnvelope | undefined;
      t.bus.subscribe({
        topic: t.topic,
        group: 'shape',
        handler: async (e) => {
          received = e;
        },
      });
      await t.bus.start();
      const event = envelope(newId(), 'Shaped', { nested: { list: [1, 2] } });
      await t.bus.publish(t.topic, [event]);
      await waitFor(() => received !== undefined);
      expect(received).to.deep.equal(event);
      expect(t.bus.problem()).to.equal(null);
    });
  });
}
