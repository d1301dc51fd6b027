import type { PageRequest } from '../../../../shared/page.ts';
import type { ApiKey } from '../../domain/api-key.ts';

/** access_db's API keys. Every adapter passes test/contract/api-key-repository.contract.ts. */
export interface ApiKeyRepository {
  insert(key: ApiKey): Promise<void>;
  findById(id: string): Promise<ApiKey | null>;
  /** By the SHA-256 of the presented key (a unique index): the one lookup authentication makes. */
  findByHash(hash: string): Promise<ApiKey | null>;
  /** Keys in id (creation) order after `after`; up to `limit` of them. */
  list(page: PageRequest): Promise<ApiKey[]>;
  /** Stores a revocation (revokedAt); resolves to false when the key does not exist. */
  saveRevocation(key: ApiKey): Promise<boolean>;
  /**
   * Rolls in one transaction: stores `rolled` (its grace end and successor) only if it had not been rolled or
   * revoked meanwhile, and inserts `successor`; resolves to false (and changes nothing) when it had.
   */
  saveRoll(rolled: ApiKey, successor: ApiKey): Promise<boolean>;
  /**
   * Moves each key's `lastUsedAt` forward to the time given (never back): one statement per key, for the
   * batches the authenticator flushes. Resolves to the number of keys changed.
   */
  recordUse(uses: ReadonlyMap<string, Date>): Promise<number>;
}
