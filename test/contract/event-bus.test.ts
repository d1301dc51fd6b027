import { InProcessEventBus } from '../../src/adapters/messaging/in-process/in-process-event-bus.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { describeEventBusContract } from './event-bus.contract.ts';

const fastRetries = { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 50 };

describeEventBusContract('in-process', async () => {
  const bus = new InProcessEventBus(silentLogger, fastRetries);
  return {
    bus,
    topic: 'contract-events',
    deadLetters: async (topic, group) =>
      bus
        .deadLetters()
        .filter((d) => d.group === group && d.topic.startsWith(topic))
        .map((d) => d.event),
    dispose: () => bus.stop(),
  };
});
