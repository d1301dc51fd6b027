import { ContainerModule } from 'inversify';
import type { Registry } from 'prom-client';
import { InProcessEventBus } from '../../adapters/messaging/in-process/in-process-event-bus.ts';
import { RoutedDeadLetterStore } from '../../adapters/messaging/in-process/routed-dead-letter-store.ts';
import type { Logger } from '../../shared/logger.port.ts';
import type { EventBus } from '../../shared/messaging/event-bus.port.ts';
import { Tokens } from '../../shared/tokens.ts';
import type { Config } from '../config.schema.ts';
import { createEventBus } from '../infrastructure.ts';
import type { Lifecycle } from '../lifecycle.ts';
import { BootTokens } from './boot-tokens.ts';

/** The configured event bus (in-process or Kafka), closed with the consumers, checked by /health/ready. */
export const eventBusModule = new ContainerModule(({ bind }) => {
  // Filled as the module databases open (attach) and the groups subscribe (route): see storage and routes modules.
  bind(BootTokens.DeadLetters).toConstantValue(new RoutedDeadLetterStore());
  bind<EventBus>(Tokens.EventBus)
    .toResolvedValue(
      (config: Config, logger: Logger, lifecycle: Lifecycle, registry: Registry, deadLetters: RoutedDeadLetterStore) =>
        createEventBus(config, logger, lifecycle, registry, deadLetters),
      [BootTokens.Config, Tokens.Logger, BootTokens.Lifecycle, BootTokens.MetricsRegistry, BootTokens.DeadLetters],
    )
    .inSingletonScope();
  // Optional: while the broker is away the outbox keeps every write and requests are still served (the
  // instance is degraded, not down); taking every instance out of rotation at once would turn a broker
  // restart into a full outage. Shutting down is the lifecycle check's to report.
  bind(BootTokens.Readiness).toResolvedValue(
    (bus: EventBus) => ({ name: 'event-bus', check: async () => bus.problem(), optional: true }),
    [Tokens.EventBus],
  );
});

/** A role that publishes and consumes nothing (the gateway): an idle bus, no broker connection. */
export const noEventsModule = new ContainerModule(({ bind }) => {
  bind<EventBus>(Tokens.EventBus)
    .toResolvedValue((logger: Logger) => new InProcessEventBus(logger), [Tokens.Logger])
    .inSingletonScope();
});
