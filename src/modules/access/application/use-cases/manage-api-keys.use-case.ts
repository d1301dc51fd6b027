import { type Page, type PageRequest, toPage } from '../../../../shared/page.ts';
import { ApiKeyErrors } from '../../domain/api-key.errors.ts';
import type { ApiKeyProps } from '../../domain/api-key.ts';
import type { AccessPorts } from '../ports/access-ports.ts';
import { type IssuedApiKey, issue } from './create-api-key.use-case.ts';

export async function getApiKey(deps: Pick<AccessPorts, 'repository'>, id: string): Promise<ApiKeyProps> {
  const key = await deps.repository.findById(id);
  if (!key) throw ApiKeyErrors.notFound(id);
  return key.toProps();
}

export async function listApiKeys(
  deps: Pick<AccessPorts, 'repository'>,
  page: PageRequest,
): Promise<Page<ApiKeyProps>> {
  const keys = await deps.repository.list({ limit: page.limit + 1, after: page.after });
  return toPage(
    keys.map((k) => k.toProps()),
    page.limit,
  );
}

/** Revokes a key at once (idempotent): every instance refuses it within the authenticator's cache TTL. */
export async function revokeApiKey(deps: Pick<AccessPorts, 'repository' | 'clock'>, id: string): Promise<ApiKeyProps> {
  const key = await deps.repository.findById(id);
  if (!key) throw ApiKeyErrors.notFound(id);
  const revoked = key.revoke(deps.clock.now());
  if (revoked !== key && !(await deps.repository.saveRevocation(revoked))) throw ApiKeyErrors.notFound(id);
  return revoked.toProps();
}

/** A successor for a key, the old one valid for `graceSeconds` more; the successor's secret is shown once. */
export async function rollApiKey(
  deps: Pick<AccessPorts, 'repository' | 'clock' | 'secrets'>,
  id: string,
  graceSeconds: number,
): Promise<IssuedApiKey & { previous: ApiKeyProps }> {
  const key = await deps.repository.findById(id);
  if (!key) throw ApiKeyErrors.notFound(id);
  const now = deps.clock.now();
  const { key: successor, secret } = issue(deps, key.successorInput(), now);
  const rolled = key.roll(successor, graceSeconds, now);
  // Lost to a concurrent roll or revocation: the stored key says which.
  if (!(await deps.repository.saveRoll(rolled, successor))) {
    const again = await deps.repository.findById(id);
    if (again?.unusableAt(now) === 'revoked') throw ApiKeyErrors.revoked(id);
    throw ApiKeyErrors.alreadyRolled(id);
  }
  return { key: successor.toProps(), secret, previous: rolled.toProps() };
}
