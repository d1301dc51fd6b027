import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { DeadLetter } from '../../../src/adapters/messaging/in-process/dead-letter-store.ts';
import { FileDeadLetterStore } from '../../../src/adapters/messaging/in-process/file-dead-letter-store.ts';
import { InProcessEventBus } from '../../../src/adapters/messaging/in-process/in-process-event-bus.ts';
import { EventHandedBack, isOutage } from '../../../src/adapters/messaging/retry-policy.ts';
import { silentLogger } from '../../../src/shared/logger.port.ts';
import { newId } from '../../../src/shared/id.ts';
import { envelope } from '../../contract/event-bus.contract.ts';

const letter = (n: number): DeadLetter => ({
  topic: 'product-events',
  group: 'order-service',
  error: `Error: failure ${n}`,
  attempts: 5,
  parkedAt: new Date(0).toISOString(),
  event: envelope(newId(), 'Tested', { n }),
});

describe('FileDeadLetterStore', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hexashop-dlq-'));
    path = join(dir, 'nested', 'dead-letters.jsonl');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads nothing before anything was parked', async () => {
    expect(await new FileDeadLetterStore(path).read()).to.deep.equal([]);
  });

  it('appends one JSON line per letter, in order, to a file only its owner may read', async () => {
    const store = new FileDeadLetterStore(path);
    const letters = Array.from({ length: 20 }, (_, n) => letter(n));
    await Promise.all(letters.map((l) => store.append(l)));
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines.pop()).to.equal('');
    expect(lines.map((l) => JSON.parse(l))).to.deep.equal(letters);
    expect(await new FileDeadLetterStore(path).read()).to.deep.equal(letters);
    expect((await stat(path)).mode & 0o777).to.equal(0o600);
  });

  it('cuts off a line a crash left unfinished before appending after it', async () => {
    const [kept, next] = [letter(1), letter(2)];
    await new FileDeadLetterStore(path).append(kept);
    await appendFile(path, '{"topic":"product-ev');
    const reopened = new FileDeadLetterStore(path);
    expect(await reopened.read(), 'the torn line is not a letter').to.deep.equal([kept]);
    await reopened.append(next);
    expect(await reopened.read()).to.deep.equal([kept, next]);
  });

  it('names the line it cannot read', async () => {
    const store = new FileDeadLetterStore(path);
    await store.append(letter(1));
    await appendFile(path, 'not json\n');
    try {
      await store.read();
      expect.fail('read a corrupt file');
    } catch (error) {
      expect((error as Error).message).to.include(`${path}:2 is not a dead letter`);
    }
  });
});

describe('InProcessEventBus parking', () => {
  const failing = { topic: 't', group: 'g', handler: async () => Promise.reject(new Error('handler fails')) };

  /** What mysql2 (through MikroORM) throws while MariaDB restarts. */
  const outage = () =>
    Object.assign(new Error('DriverException: connect ECONNREFUSED 127.0.0.1:3310'), { code: 'ECONNREFUSED' });

  it('never parks an event whose handler failed because the database is unreachable: it is handed back', async () => {
    const retry = { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 1 };
    let down = true;
    const handled: string[] = [];
    const bus = new InProcessEventBus(silentLogger, { retry });
    bus.subscribe({
      topic: 't',
      group: 'g',
      handler: async (e) => {
        if (down) throw new Error('query failed', { cause: outage() });
        handled.push(e.id);
      },
    });
    await bus.start();
    const event = envelope(newId());
    try {
      await bus.publish('t', [event]);
      expect.fail('the publish succeeded while the database was down');
    } catch (error) {
      expect(error).to.be.instanceOf(EventHandedBack);
    }
    expect(await bus.deadLetters(), 'nothing parked').to.deep.equal([]);
    // The relay publishes it again once the database is back (the record was never marked published).
    down = false;
    await bus.publish('t', [event]);
    expect(handled).to.deep.equal([event.id]);
  });

  it('tells an outage from an event that fails on its own', () => {
    expect(isOutage(outage())).to.equal(true);
    expect(
      isOutage(new Error('wrapped', { cause: Object.assign(new Error('gone'), { code: 'PROTOCOL_CONNECTION_LOST' }) })),
    ).to.equal(true);
    expect(
      isOutage(Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' })),
    ).to.equal(true);
    expect(isOutage(new Error('handler fails'))).to.equal(false);
    expect(isOutage(Object.assign(new Error('duplicate'), { code: 'ER_DUP_ENTRY' }))).to.equal(false);
  });

  it('keeps the letter with where it came from, who gave up and why', async () => {
    const bus = new InProcessEventBus(silentLogger, {
      retry: { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 1 },
    });
    bus.subscribe(failing);
    await bus.start();
    const event = envelope(newId());
    await bus.publish('t', [event]);
    const [parked, ...rest] = await bus.deadLetters();
    expect(rest).to.deep.equal([]);
    expect(parked).to.deep.include({ topic: 't', group: 'g', error: 'Error: handler fails', attempts: 2, event });
  });

  it('fails the publish when it cannot park, so the relay delivers the event again', async () => {
    const deadLetters = { append: () => Promise.reject(new Error('disk full')), read: async () => [] };
    const retry = { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1 };
    const bus = new InProcessEventBus(silentLogger, { retry, deadLetters });
    bus.subscribe(failing);
    await bus.start();
    // Outside a test runner an unhandled rejection ends the process: none may escape the bus.
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const aggregate = newId();
      const first = bus.publish('t', [envelope(aggregate)]);
      const behind = bus.publish('t', [envelope(aggregate)]);
      const outcomes = await Promise.allSettled([first, behind]);
      expect(
        outcomes.map((o) => o.status),
        'the event and the one queued behind it',
      ).to.deep.equal(['rejected', 'rejected']);
      await bus.stop();
      await new Promise((r) => setImmediate(r));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it('redelivers a parked event to the one group that parked it, and parks it anew if it fails again', async () => {
    const retry = { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 1 };
    let broken = true;
    const seen: string[] = [];
    const other: string[] = [];
    const bus = new InProcessEventBus(silentLogger, { retry });
    bus.subscribe({
      topic: 't',
      group: 'g',
      handler: async (e) => {
        if (broken) throw new Error('not yet');
        seen.push(e.id);
      },
    });
    bus.subscribe({ topic: 't', group: 'other', handler: async (e) => void other.push(e.id) });
    await bus.start();
    const event = envelope(newId());
    await bus.publish('t', [event]);
    const [parked] = await bus.deadLetters();
    expect(await bus.redeliver(parked!), 'still broken').to.equal('parked');
    expect(await bus.deadLetters()).to.have.length(2);
    broken = false;
    expect(await bus.redeliver(parked!)).to.equal('handled');
    expect(seen).to.deep.equal([event.id]);
    expect(other, 'the other group got it once, at publish').to.deep.equal([event.id]);
    try {
      await bus.redeliver({ ...parked!, group: 'nobody' });
      expect.fail('redelivered to a group that does not exist');
    } catch (error) {
      expect((error as Error).message).to.include('does not consume');
    }
    await bus.stop();
  });
});
