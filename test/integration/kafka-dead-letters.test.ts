import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { KafkaEventBus } from '../../src/adapters/messaging/kafka/kafka-event-bus.ts';
import { REPLAY_HEADERS } from '../../src/adapters/messaging/kafka/kafka-dead-letters.ts';
import { headerText } from '../../src/adapters/messaging/kafka/kafka-messages.ts';
import { ensureTopics } from '../../src/adapters/messaging/kafka/kafka-topics.ts';
import { NamespacedEventBus } from '../../src/adapters/messaging/namespaced-event-bus.ts';
import { newId } from '../../src/shared/id.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import type { EventBus } from '../../src/shared/messaging/event-bus.port.ts';
import { TOPICS } from '../../src/shared/messaging/event-envelope.ts';
import { envelope } from '../contract/event-bus.contract.ts';
import { hexashop } from '../support/cli.ts';
import { deleteNamespace, fastConsumers, fastRetries, readTopic } from '../support/kafka.ts';
import type { LetterView } from '../../src/bootstrap/dlq.ts';
import { integrationServices } from '../support/services.ts';

type ListedLetter = LetterView & { envelope: { id: string; aggregateId: string } };

const waitFor = async (condition: () => boolean, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

/**
 * `hexashop dlq --bus kafka` against a real broker, in a namespace of its own: a group whose handler fails
 * parks two events on `<ns>order-events.dlq`; the CLI lists and shows them, replays one after the fix (the
 * group handles it once, and a second replay produces nothing) and discards the other.
 */
describe('dead letters on Kafka: park, list, show, replay, discard (hexashop dlq --bus kafka)', function () {
  this.timeout(180_000);
  const namespace = `dlq-${randomUUID().slice(0, 8)}.`;
  const group = 'dlq-test';
  let brokers: string[];
  let bus: EventBus;
  let broken = true;
  const handled: string[] = [];
  const env = () => ({
    ...process.env,
    HEXASHOP_BUS: 'kafka',
    HEXASHOP_KAFKA_BROKERS: brokers.join(','),
    HEXASHOP_KAFKA_NAMESPACE: namespace,
    HEXASHOP_LOG_LEVEL: 'error',
  });
  const dlq = async <T>(...args: string[]): Promise<T> =>
    JSON.parse((await hexashop(['dlq', ...args, '--role', 'order', '--json'], env())).stdout) as T;

  before(async () => {
    brokers = (await integrationServices()).kafkaBrokers;
    await ensureTopics(brokers, silentLogger, { namespace, partitions: 6, replicationFactor: 1 });
    bus = new NamespacedEventBus(
      new KafkaEventBus({
        brokers,
        clientId: 'dlq-test',
        logger: silentLogger,
        retry: fastRetries,
        consumer: fastConsumers,
      }),
      namespace,
    );
    bus.subscribe({
      topic: TOPICS.orderEvents,
      group,
      handler: async (event) => {
        if (broken) throw new Error('cannot handle this yet');
        handled.push(event.id);
      },
    });
    await bus.start();
  });
  after(async () => {
    await bus?.stop();
    await deleteNamespace(brokers, namespace);
  });

  it('parks, lists, shows, replays once and discards', async () => {
    const [first, second] = [envelope(newId(), 'OrderPlaced', { n: 1 }), envelope(newId(), 'OrderPlaced', { n: 2 })];
    await bus.publish(TOPICS.orderEvents, [first!, second!]);
    const dlqTopic = `${namespace}${TOPICS.orderEvents}.dlq`;
    const deadline = Date.now() + 60_000;
    while ((await readTopic(brokers, dlqTopic)).length < 2) {
      if (Date.now() > deadline) throw new Error('not parked');
      await new Promise((r) => setTimeout(r, 500));
    }

    const listed = await dlq<ListedLetter[]>('list', '--topic', 'order-events');
    expect(listed.map((l) => l.eventId)).to.have.members([first!.id, second!.id]);
    for (const letter of listed) {
      expect(letter).to.deep.include({ topic: 'order-events', group, eventType: 'OrderPlaced', state: 'parked' });
      expect(letter.attempts).to.equal(fastRetries.maxAttempts);
      expect(letter.code).to.equal('EVENT_HANDLER_FAILED');
      expect(letter.id).to.match(/^order-events\.dlq:\d+:\d+$/);
    }
    const toReplay = listed.find((l) => l.eventId === first!.id)!;
    const toDiscard = listed.find((l) => l.eventId === second!.id)!;
    const shown = await dlq<ListedLetter>('show', toReplay.id);
    expect(shown.error).to.equal('Error: cannot handle this yet');
    expect(shown.envelope).to.deep.equal(first);

    broken = false;
    expect(await dlq<unknown>('replay', toReplay.id)).to.deep.equal([{ id: toReplay.id, outcome: 'replayed' }]);
    await waitFor(() => handled.includes(first!.id), 60_000);
    expect(await dlq<unknown>('replay', toReplay.id), 'again').to.deep.equal([
      { id: toReplay.id, outcome: 'already-settled' },
    ]);
    expect(await dlq<unknown>('discard', toDiscard.id)).to.deep.equal({ id: toDiscard.id, outcome: 'discarded' });
    expect(await dlq<unknown>('discard', toDiscard.id)).to.deep.equal({ id: toDiscard.id, outcome: 'already-settled' });
    expect(await dlq<unknown>('replay', '--all'), 'nothing parked is left').to.deep.equal([]);

    const states = await dlq<ListedLetter[]>('list');
    expect(Object.fromEntries(states.map((l) => [l.eventId, l.state]))).to.deep.equal({
      [first!.id]: 'replayed',
      [second!.id]: 'discarded',
    });
    // The replay is the original message, marked: key, value and id header as published.
    const replayed = (await readTopic(brokers, namespace + TOPICS.orderEvents)).filter(
      (m) => headerText(m.headers, REPLAY_HEADERS.of) !== undefined,
    );
    expect(replayed).to.have.length(1);
    expect(replayed[0]!.key!.toString()).to.equal(first!.aggregateId);
    expect(JSON.parse(replayed[0]!.value!.toString())).to.deep.equal(first);
    expect(headerText(replayed[0]!.headers, REPLAY_HEADERS.group)).to.equal(namespace + group);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(handled, 'each handled once; the discarded one never').to.deep.equal([first!.id]);
  });
});
