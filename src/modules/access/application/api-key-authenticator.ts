import type { Clock } from '../../../shared/clock.ts';
import { isWellFormedKey } from '../domain/api-key-format.ts';
import { ApiKeyErrors } from '../domain/api-key.errors.ts';
import type { ApiKey, ApiKeyRole, Unusable } from '../domain/api-key.ts';
import type { ApiKeyRepository } from './ports/api-key-repository.port.ts';
import type { KeySecrets } from './ports/key-secrets.port.ts';

/** What a presented key is: a usable key and what it grants, or why it is refused. */
export type KeyCheck =
  | { ok: true; id: string; role: ApiKeyRole; rateLimitPerMinute: number | null }
  | { ok: false; reason: 'malformed' | 'unknown' | Unusable };

export interface AuthenticatorOptions {
  /**
   * How long an answer of the database (a key, or that no key has this hash) is trusted: the bound on how
   * long an instance may still accept a key another instance revoked or rolled out of its grace.
   */
  cacheTtlMs: number;
  /** Most answers kept (a flood of well-formed made-up keys must not grow the cache without end). */
  maxEntries: number;
}

export const DEFAULT_AUTHENTICATOR_OPTIONS: AuthenticatorOptions = { cacheTtlMs: 2000, maxEntries: 10_000 };

const MALFORMED: KeyCheck = { ok: false, reason: 'malformed' };

interface Cached {
  key: ApiKey | null;
  /** Epoch ms until which the answer is trusted. */
  until: number;
}

/**
 * Authenticates managed API keys for the edge, cheaply:
 * - a key that is malformed or fails its checksum is refused with no lookup;
 * - otherwise the one lookup is by the key's SHA-256 (a unique index), so no stored secret is ever compared
 *   byte by byte and timing tells nothing about other keys; the answer (found or not) is cached per hash for
 *   `cacheTtlMs`, and concurrent lookups of one hash share one query;
 * - revocation, a rolled key's grace and the expiry are judged on every request from the cached key, so the
 *   only lag is the cache's: another instance's revocation is seen within `cacheTtlMs`;
 * - uses are remembered in memory (the latest per key) and written by `flushUsage`, one UPDATE per key per
 *   flush, never one per request.
 * Synchronous when the answer is cached (the usual case), a promise when it needs the database.
 */
export class ApiKeyAuthenticator {
  readonly #repository: ApiKeyRepository;
  readonly #clock: Clock;
  readonly #secrets: KeySecrets;
  readonly #options: AuthenticatorOptions;
  readonly #cache = new Map<string, Cached>();
  readonly #inFlight = new Map<string, Promise<ApiKey | null>>();
  #uses = new Map<string, Date>();

  constructor(
    deps: { repository: ApiKeyRepository; clock: Clock; secrets: KeySecrets },
    options: AuthenticatorOptions = DEFAULT_AUTHENTICATOR_OPTIONS,
  ) {
    this.#repository = deps.repository;
    this.#clock = deps.clock;
    this.#secrets = deps.secrets;
    this.#options = options;
  }

  verify(presented: string): KeyCheck | Promise<KeyCheck> {
    if (!isWellFormedKey(presented)) return MALFORMED;
    const hash = this.#secrets.sha256Hex(presented);
    const now = this.#clock.now();
    const cached = this.#cache.get(hash);
    if (cached && cached.until > now.getTime()) return this.#judge(cached.key, now);
    return this.#lookUp(hash).then((key) => this.#judge(key, this.#clock.now()));
  }

  /** Writes the uses remembered since the last flush; resolves to the number of keys written. */
  async flushUsage(): Promise<number> {
    if (this.#uses.size === 0) return 0;
    const uses = this.#uses;
    this.#uses = new Map();
    try {
      return await this.#repository.recordUse(uses);
    } catch (error) {
      // Kept for the next flush (a newer use of a key wins).
      for (const [id, at] of uses) if (!this.#uses.has(id)) this.#uses.set(id, at);
      throw error;
    }
  }

  /** Forgets the cached answer for a key (by its hash): this instance sees its own revocations and rolls at once. */
  forget(hash: string): void {
    this.#cache.delete(hash);
  }

  #judge(key: ApiKey | null, now: Date): KeyCheck {
    if (!key) return { ok: false, reason: 'unknown' };
    const unusable = key.unusableAt(now);
    if (unusable) return { ok: false, reason: unusable };
    this.#uses.set(key.id, now);
    return { ok: true, id: key.id, role: key.role, rateLimitPerMinute: key.rateLimitPerMinute };
  }

  #lookUp(hash: string): Promise<ApiKey | null> {
    let pending = this.#inFlight.get(hash);
    if (!pending) {
      pending = this.#repository.findByHash(hash).then(
        (key) => {
          this.#inFlight.delete(hash);
          if (this.#cache.size >= this.#options.maxEntries) this.#cache.clear();
          this.#cache.set(hash, { key, until: this.#clock.now().getTime() + this.#options.cacheTtlMs });
          return key;
        },
        (error: unknown) => {
          this.#inFlight.delete(hash);
          throw ApiKeyErrors.unavailable(`the key store could not be read (${(error as Error).message})`);
        },
      );
      this.#inFlight.set(hash, pending);
    }
    return pending;
  }
}
