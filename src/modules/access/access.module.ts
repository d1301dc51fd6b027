import { ContainerModule } from 'inversify';
import type { Clock } from '../../shared/clock.ts';
import { Tokens } from '../../shared/tokens.ts';
import { withPorts } from '../../shared/with-ports.ts';
import type { AccessUseCases } from './application/access-use-cases.ts';
import { ApiKeyAuthenticator, DEFAULT_AUTHENTICATOR_OPTIONS } from './application/api-key-authenticator.ts';
import type { ApiKeyRepository } from './application/ports/api-key-repository.port.ts';
import type { KeySecrets } from './application/ports/key-secrets.port.ts';
import { createApiKey } from './application/use-cases/create-api-key.use-case.ts';
import { getApiKey, listApiKeys, revokeApiKey, rollApiKey } from './application/use-cases/manage-api-keys.use-case.ts';
import { apiKeyRouter } from './http/api-key.router.ts';

export const AccessTokens = {
  /** Bound by the storage adapter the configuration chose. */
  Repository: Symbol.for('ApiKeyRepository'),
  /** Bound by the composition root (node:crypto). */
  Secrets: Symbol.for('KeySecrets'),
  UseCases: Symbol.for('AccessUseCases'),
  /** The edge's authenticator of managed keys (its usage flushes are scheduled by the composition root). */
  Authenticator: Symbol.for('ApiKeyAuthenticator'),
  Router: Symbol.for('ApiKeyRouter'),
} as const;

/** The access module: managed API keys, their admin API and the authenticator the edge asks. */
export const accessModule = new ContainerModule(({ bind }) => {
  bind<AccessUseCases>(AccessTokens.UseCases)
    .toResolvedValue(
      (
        repository: ApiKeyRepository,
        clock: Clock,
        secrets: KeySecrets,
        authenticator: ApiKeyAuthenticator,
      ): AccessUseCases => {
        const bound = withPorts({ repository, clock, secrets });
        // This instance forgets what it cached of a key it revoked or rolled: no lag here; other instances
        // see it within the cache TTL.
        return {
          createApiKey: bound(createApiKey),
          getApiKey: bound(getApiKey),
          listApiKeys: bound(listApiKeys),
          revokeApiKey: async (id) => {
            const key = await revokeApiKey({ repository, clock }, id);
            authenticator.forget(key.hash);
            return key;
          },
          rollApiKey: async (id, graceSeconds) => {
            const rolled = await rollApiKey({ repository, clock, secrets }, id, graceSeconds);
            authenticator.forget(rolled.previous.hash);
            return rolled;
          },
        };
      },
      [AccessTokens.Repository, Tokens.Clock, AccessTokens.Secrets, AccessTokens.Authenticator],
    )
    .inSingletonScope();

  bind(AccessTokens.Authenticator)
    .toResolvedValue(
      (repository: ApiKeyRepository, clock: Clock, secrets: KeySecrets) =>
        new ApiKeyAuthenticator({ repository, clock, secrets }, DEFAULT_AUTHENTICATOR_OPTIONS),
      [AccessTokens.Repository, Tokens.Clock, AccessTokens.Secrets],
    )
    .inSingletonScope();

  bind(AccessTokens.Router)
    .toResolvedValue((useCases: AccessUseCases) => apiKeyRouter(useCases), [AccessTokens.UseCases])
    .inSingletonScope();
});
