import type { ApiKeyRepository } from '../../../modules/access/application/ports/api-key-repository.port.ts';
import { ApiKey, type ApiKeyProps } from '../../../modules/access/domain/api-key.ts';
import { conflict } from '../../../shared/domain-error.ts';
import type { PageRequest } from '../../../shared/page.ts';

/** API keys in a Map (tests, and a role run without a database). */
export class InMemoryApiKeyRepository implements ApiKeyRepository {
  readonly #keys = new Map<string, ApiKeyProps>();

  async insert(key: ApiKey): Promise<void> {
    const p = key.toProps();
    if (this.#keys.has(p.id) || [...this.#keys.values()].some((k) => k.hash === p.hash))
      throw conflict('API_KEY_EXISTS', 'an API key with this id or hash exists');
    this.#keys.set(p.id, structuredClone(p));
  }

  async findById(id: string) {
    const p = this.#keys.get(id);
    return p ? ApiKey.restore(structuredClone(p)) : null;
  }

  async findByHash(hash: string) {
    for (const p of this.#keys.values()) if (p.hash === hash) return ApiKey.restore(structuredClone(p));
    return null;
  }

  async list(page: PageRequest) {
    return [...this.#keys.values()]
      .filter((k) => !page.after || k.id > page.after)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, page.limit)
      .map((p) => ApiKey.restore(structuredClone(p)));
  }

  async saveRevocation(key: ApiKey) {
    const stored = this.#keys.get(key.id);
    if (!stored) return false;
    stored.revokedAt ??= key.toProps().revokedAt;
    return true;
  }

  async saveRoll(rolled: ApiKey, successor: ApiKey) {
    const stored = this.#keys.get(rolled.id);
    if (!stored || stored.rolledTo !== null || stored.revokedAt !== null) return false;
    await this.insert(successor);
    const p = rolled.toProps();
    stored.graceUntil = p.graceUntil;
    stored.rolledTo = p.rolledTo;
    return true;
  }

  async recordUse(uses: ReadonlyMap<string, Date>) {
    let changed = 0;
    for (const [id, at] of uses) {
      const stored = this.#keys.get(id);
      if (stored && (stored.lastUsedAt === null || stored.lastUsedAt < at)) {
        stored.lastUsedAt = at;
        changed++;
      }
    }
    return changed;
  }
}
