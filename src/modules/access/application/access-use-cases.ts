import type { BoundUseCase } from '../../../shared/with-ports.ts';
import type { createApiKey } from './use-cases/create-api-key.use-case.ts';
import type { getApiKey, listApiKeys, revokeApiKey, rollApiKey } from './use-cases/manage-api-keys.use-case.ts';

/** The access module's use cases as the driving adapters call them, their ports bound (access.module.ts). */
export interface AccessUseCases {
  createApiKey: BoundUseCase<typeof createApiKey>;
  getApiKey: BoundUseCase<typeof getApiKey>;
  listApiKeys: BoundUseCase<typeof listApiKeys>;
  revokeApiKey: BoundUseCase<typeof revokeApiKey>;
  rollApiKey: BoundUseCase<typeof rollApiKey>;
}
