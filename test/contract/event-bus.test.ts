import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileDeadLetterStore } from '../../src/adapters/messaging/in-process/file-dead-letter-store.ts';
import { InProcessEventBus } from '../../src/adapters/messaging/in-process/in-process-event-bus.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { type BusUnderTest, describeEventBusContract } from './event-bus.contract.ts';

const fastRetries = { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 50 };

/** A bus that parks into a dead-letter file in `dir`; another one on the same `dir` is that bus restarted. */
function onDisk(dir: string): BusUnderTest {
  const deadLetters = new FileDeadLetterStore(join(dir, 'dead-letters.jsonl'));
  const bus = new InProcessEventBus(silentLogger, { retry: fastRetries, deadLetters });
  return {
    bus,
    topic: 'contract-events',
    deadLetters: async (topic, group) =>
      (await bus.deadLetters())
        .filter((d) => d.topic === topic && d.group === group)
        .map((d) => ({ topic: d.topic, group: d.group, reason: d.error, event: d.event })),
    reopen: async () => {
      await bus.stop();
      return onDisk(dir);
    },
    dispose: async () => {
      await bus.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describeEventBusContract('in-process', async () => onDisk(await mkdtemp(join(tmpdir(), 'hexashop-bus-'))));
