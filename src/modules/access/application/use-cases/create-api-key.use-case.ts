import { newId } from '../../../../shared/id.ts';
import { keyFromRandomBytes, visiblePartsOf } from '../../domain/api-key-format.ts';
import { ApiKey, type ApiKeyProps, type NewApiKey } from '../../domain/api-key.ts';
import type { AccessPorts } from '../ports/access-ports.ts';

/** A key just made: its stored form, and the key itself, which is shown this once and kept nowhere. */
export interface IssuedApiKey {
  key: ApiKeyProps;
  secret: string;
}

/** A fresh key string from the CSPRNG (48 bytes are far more than the rejection sampling needs). */
export function newSecret(secrets: AccessPorts['secrets']): string {
  for (;;) {
    const key = keyFromRandomBytes(secrets.randomBytes(48));
    if (key !== null) return key;
  }
}

export function issue(deps: Pick<AccessPorts, 'secrets'>, input: NewApiKey, now: Date) {
  const secret = newSecret(deps.secrets);
  const key = ApiKey.create(newId(), input, { ...visiblePartsOf(secret), hash: deps.secrets.sha256Hex(secret) }, now);
  return { key, secret };
}

export async function createApiKey(
  deps: Pick<AccessPorts, 'repository' | 'clock' | 'secrets'>,
  input: NewApiKey,
): Promise<IssuedApiKey> {
  const { key, secret } = issue(deps, input, deps.clock.now());
  await deps.repository.insert(key);
  return { key: key.toProps(), secret };
}
