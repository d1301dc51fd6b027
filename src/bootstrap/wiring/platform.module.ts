import { randomUUID } from 'node:crypto';
import { ContainerModule } from 'inversify';
import { systemClock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.port.ts';
import { Tokens } from '../../shared/tokens.ts';
import type { Config } from '../config.schema.ts';
import type { Lifecycle } from '../lifecycle.ts';
import { jwtSettings } from '../signing-key.ts';
import { BootTokens } from './boot-tokens.ts';

/** What every role has: its configuration, logger, lifecycle, clock, instance name and signing key. */
export const platformModule = (config: Config, logger: Logger, lifecycle: Lifecycle) =>
  new ContainerModule(({ bind }) => {
    bind(BootTokens.Config).toConstantValue(config);
    bind(BootTokens.Lifecycle).toConstantValue(lifecycle);
    bind(BootTokens.Jwt).toConstantValue(jwtSettings(config));
    bind(Tokens.Logger).toConstantValue(logger);
    bind(Tokens.Clock).toConstantValue(systemClock);
    bind(Tokens.InstanceId).toConstantValue(`${config.role}-${randomUUID().slice(0, 8)}`);
    // Not ready from the first moment of shutdown, so a load balancer stops sending while in-flight requests drain.
    bind(BootTokens.Readiness).toConstantValue({
      name: 'lifecycle',
      check: async () => (lifecycle.stopping ? 'shutting down' : null),
    });
  });
