import type { Clock } from '../../../../shared/clock.ts';
import type { ApiKeyRepository } from './api-key-repository.port.ts';
import type { KeySecrets } from './key-secrets.port.ts';

/** Every port an access use case may be given; each declares the few it needs. */
export interface AccessPorts {
  repository: ApiKeyRepository;
  clock: Clock;
  secrets: KeySecrets;
}
