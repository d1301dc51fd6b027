import type { MikroORM } from '@mikro-orm/core';
import { ContainerModule } from 'inversify';
import type { Router } from 'express';
import { nodeKeySecrets } from '../../adapters/crypto/node-key-secrets.ts';
import { migrate } from '../../adapters/persistence/mikro-orm/orm.ts';
import { MikroOrmApiKeyRepository } from '../../adapters/persistence/mikro-orm/access/mikro-orm-api-key.repository.ts';
import { sqlDatabaseOf } from '../../adapters/persistence/mikro-orm/shared/sql.ts';
import type { ManagedApiKeys } from '../../edge/http/auth.ts';
import type { ReadinessCheck } from '../../edge/http-app.ts';
import { AccessTokens } from '../../modules/access/access.module.ts';
import type { ApiKeyAuthenticator, KeyCheck } from '../../modules/access/application/api-key-authenticator.ts';
import { errorCode } from '../../shared/error-code.ts';
import type { Logger } from '../../shared/logger.port.ts';
import { Tokens } from '../../shared/tokens.ts';
import type { Config } from '../config.schema.ts';
import { openModuleDatabase } from '../infrastructure.ts';
import type { Lifecycle } from '../lifecycle.ts';
import { BootTokens, type Route } from './boot-tokens.ts';

/** How often the uses of managed API keys are written (one UPDATE per key used since the last time). */
export const USAGE_FLUSH_MS = 5000;

const AccessStorage = Symbol.for('access-storage');

/**
 * The access module in a role that authenticates clients (monolith, gateway): its own database (access_db:
 * a SQLite file in the data dir, or a MySQL schema with its own user), no outbox and no relay (it publishes
 * no events), the admin API under /api/v1/api-keys, and the authenticator the edge asks about `X-API-Key`,
 * whose batched `last_used_at` writes are flushed every USAGE_FLUSH_MS and once more on stop.
 */
export const accessWiring = new ContainerModule(({ bind }) => {
  bind<MikroORM>(AccessStorage)
    .toResolvedValue(
      async (config: Config, logger: Logger, lifecycle: Lifecycle) => {
        const orm = await openModuleDatabase(config, 'access', logger);
        lifecycle.onStop('storage', 'access-db', () => orm.close());
        if (config.migrate) {
          const applied = await migrate(orm);
          if (applied.length > 0) logger.info('migrations applied', { module: 'access', applied });
        }
        return orm;
      },
      [BootTokens.Config, Tokens.Logger, BootTokens.Lifecycle],
    )
    .inSingletonScope();
  bind(BootTokens.Database).toResolvedValue((orm: MikroORM) => orm, [AccessStorage]);
  bind(AccessTokens.Repository)
    .toResolvedValue((orm: MikroORM) => new MikroOrmApiKeyRepository(orm), [AccessStorage])
    .inSingletonScope();
  bind(AccessTokens.Secrets).toConstantValue(nodeKeySecrets);
  bind(BootTokens.Readiness).toResolvedValue(
    (orm: MikroORM): ReadinessCheck => ({
      name: 'access-db',
      check: async () => {
        try {
          await sqlDatabaseOf(orm).get('select 1');
          return null;
        } catch (error) {
          return `database: ${(error as Error).message}`;
        }
      },
    }),
    [AccessStorage],
  );
  bind<Route>(BootTokens.ApiRoute).toResolvedValue(
    (router: Router) => ({ path: '/api-keys', router }),
    [AccessTokens.Router],
  );
  bind<ManagedApiKeys>(BootTokens.ManagedApiKeys)
    .toResolvedValue(
      (authenticator: ApiKeyAuthenticator, logger: Logger, lifecycle: Lifecycle): ManagedApiKeys => {
        const flush = () =>
          authenticator.flushUsage().catch((error: unknown) =>
            logger.warn('API keys: last use not written, retried at the next flush', {
              code: errorCode(error, 'API_KEY_USAGE_FLUSH_FAILED'),
              error: (error as Error).message,
            }),
          );
        const timer = setInterval(() => void flush(), USAGE_FLUSH_MS);
        timer.unref();
        // After HTTP has drained (no more uses), before the database closes.
        lifecycle.onStop('producers', 'api-key-usage', async () => {
          clearInterval(timer);
          await flush();
        });
        return (presented) => {
          const check = authenticator.verify(presented);
          return check instanceof Promise ? check.then(grantOf) : grantOf(check);
        };
      },
      [AccessTokens.Authenticator, Tokens.Logger, BootTokens.Lifecycle],
    )
    .inSingletonScope();
});

const grantOf = (check: KeyCheck) =>
  check.ok ? { id: check.id, role: check.role, rateLimitPerMinute: check.rateLimitPerMinute } : null;
