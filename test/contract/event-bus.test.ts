import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/core';
import { InProcessEventBus } from '../../src/adapters/messaging/in-process/in-process-event-bus.ts';
import { migrate } from '../../src/adapters/persistence/mikro-orm/orm.ts';
import { MikroOrmDeadLetterStore } from '../../src/adapters/persistence/mikro-orm/shared/mikro-orm-dead-letter-store.ts';
import { loadConfig } from '../../src/bootstrap/config.ts';
import { openModuleDatabase } from '../../src/bootstrap/infrastructure.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { type BusUnderTest, describeEventBusContract } from './event-bus.contract.ts';

const fastRetries = { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 50 };

/**
 * A bus that parks into the `dead_letters` table of a module database in `dir` (as a role does); another
 * one on the same `dir` is that bus restarted.
 */
async function onDisk(dir: string, orms: MikroORM[] = []): Promise<BusUnderTest> {
  const config = loadConfig({ flags: { dataDir: dir, storage: 'sqlite' }, env: {} });
  const orm = await openModuleDatabase(config, 'order', silentLogger);
  await migrate(orm);
  orms.push(orm);
  const deadLetters = new MikroOrmDeadLetterStore(orm);
  const bus = new InProcessEventBus(silentLogger, { retry: fastRetries, deadLetters });
  return {
    bus,
    topic: 'contract-events',
    deadLetters: async (topic, group) =>
      (await deadLetters.list({ topic, group })).map((d) => ({
        topic: d.topic,
        group: d.group,
        reason: d.error,
        event: d.event,
      })),
    reopen: async () => {
      await bus.stop();
      return onDisk(dir, orms);
    },
    dispose: async () => {
      await bus.stop();
      for (const each of orms) await each.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describeEventBusContract('in-process', async () => onDisk(await mkdtemp(join(tmpdir(), 'hexashop-bus-'))));
