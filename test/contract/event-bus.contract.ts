import { expect } from 'chai';
import { newId } from '../../src/shared/id.ts';
import type { EventBus } from '../../src/shared/messaging/event-bus.port.ts';
import type { EventEnvelope } from '../../src/shared/messaging/event-envelope.ts';

/** An event a consumer group gave up on, as the adapter keeps it. */
export interface ParkedEvent {
  /** The topic it was published on, as the bus's caller names it. */
  topic: string;
  /** The consumer group that gave up, as the bus's caller names it. */
  group: string;
  /** Why: the handler's last error, as text. */
  reason: string;
  event: EventEnvelope;
}

export interface BusUnderTest {
  bus: EventBus;
  /** A topic name unique to this test (brokers keep topics between tests). */
  topic: string;
  /** Dead letters parked for a topic/group so far, read from the adapter's storage. */
  deadLetters(topic: string, group: string): Promise<ParkedEvent[]>;
  /** Stops this bus and makes a new one on the same storage (files, broker, namespace), as a restart does. */
  reopen(): Promise<BusUnderTest>;
  /** Stops the bus and removes its storage. */
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

/** The dead letters of a group once there are `count` of them (a broker parks asynchronously). */
const parkedFor = async (t: BusUnderTest, group: string, count: number, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const parked = await t.deadLetters(t.topic, group);
    if (parked.length >= count || Date.now() > deadline) return parked;
    await new Promise((r) => setTimeout(r, 50));
  }
};

const LATE = /cannot subscribe group .+: subscribe before the event bus starts/;

/**
 * What every EventBus adapter must do, whatever carries the events: at-least-once delivery to every
 * group, order per aggregate, retry of a failing handler, parking (never dropping) a poison event
 * without blocking the events behind it, keeping what it parked across a restart, and refusing a
 * subscription once started (see EventBus.subscribe for why).
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

    it('reports what a group has yet to handle, and nothing once it has handled it', async () => {
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const handled: string[] = [];
      t.bus.subscribe({
        topic: t.topic,
        group: 'slow',
        handler: async (e) => {
          await gate;
          handled.push(e.id);
        },
      });
      await t.bus.start();
      const aggregate = newId();
      // Not awaited yet: the in-process bus resolves a publish once the groups have handled it.
      const published = t.bus.publish(t.topic, [envelope(aggregate), envelope(aggregate), envelope(aggregate)]);
      const behind = async () =>
        (await t.bus.lag())
          .filter((l) => l.group === 'slow' && l.topic === t.topic)
          .reduce((sum, l) => sum + l.messages, 0);
      const deadline = Date.now() + 20_000;
      while ((await behind()) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await behind(), 'three published, none handled').to.equal(3);
      open();
      await published;
      await waitFor(() => handled.length >= 3);
      // Kafka counts from the committed offset: the commit follows the handling within a second or so.
      while ((await behind()) > 0 && Date.now() < deadline + 20_000) await new Promise((r) => setTimeout(r, 100));
      expect(await behind(), 'all handled').to.equal(0);
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
      const parked = await parkedFor(t, 'strict', 1);
      expect(parked.map((p) => p.event.id)).to.deep.equal([poison.id]);
    });

    it('keeps a parked event, with its topic, group and reason, for a new bus on the same storage', async () => {
      const doomed = envelope(newId(), 'Doomed', { n: 1 });
      t.bus.subscribe({
        topic: t.topic,
        group: 'durable',
        handler: async () => {
          throw new Error('never works');
        },
      });
      await t.bus.start();
      await t.bus.publish(t.topic, [doomed]);
      expect(await parkedFor(t, 'durable', 1)).to.have.length(1);

      t = await t.reopen();
      const parked = await t.deadLetters(t.topic, 'durable');
      expect(parked).to.have.length(1);
      expect(parked[0]).to.deep.include({ topic: t.topic, group: 'durable', event: doomed });
      expect(parked[0]!.reason).to.include('never works');
    });

    it('refuses a subscription once started, while its own subscriptions go on', async () => {
      const early: string[] = [];
      const late: string[] = [];
      const subscribeLate = () =>
        t.bus.subscribe({ topic: t.topic, group: 'late', handler: async (e) => void late.push(e.id) });
      t.bus.subscribe({ topic: t.topic, group: 'early', handler: async (e) => void early.push(e.id) });
      const starting = t.bus.start();
      expect(subscribeLate, 'while starting').to.throw(LATE);
      await starting;
      expect(subscribeLate, 'once running').to.throw(LATE);
      const event = envelope(newId());
      await t.bus.publish(t.topic, [event]);
      await waitFor(() => early.includes(event.id));
      expect(late).to.deep.equal([]);
      await t.bus.stop();
      expect(subscribeLate, 'once stopped').to.throw(LATE);
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
