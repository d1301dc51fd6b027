import { ApiKeyErrors } from './api-key.errors.ts';

export type ApiKeyRole = 'admin' | 'customer';

/** Limits the domain owns; the HTTP schemas are built from them. */
export const MAX_NAME_LENGTH = 100;
export const MAX_RATE_LIMIT_PER_MINUTE = 1_000_000;
export const MAX_GRACE_SECONDS = 7 * 24 * 3600;

export interface ApiKeyProps {
  id: string;
  name: string;
  role: ApiKeyRole;
  /** `hxs_live_`, and the first and last characters after it: enough for a person to tell keys apart. */
  prefix: string;
  start: string;
  end: string;
  /** SHA-256 of the whole key, hex. The key itself is never stored. */
  hash: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  /** Requests per minute for this key (each of the read and write budgets); null: the configured default. */
  rateLimitPerMinute: number | null;
  /** Set when the key was rolled: it stays valid until then, its successor from the start. */
  graceUntil: Date | null;
  /** The key that replaced this one when it was rolled. */
  rolledTo: string | null;
}

export interface NewApiKey {
  name: string;
  role: ApiKeyRole;
  expiresAt?: Date | null | undefined;
  rateLimitPerMinute?: number | null | undefined;
}

/** Why a stored key is not accepted now (`null`: it is). */
export type Unusable = 'revoked' | 'expired' | 'rolled';

/**
 * A managed API key: what it grants (a role, a rate limit) and until when. Changes go through intent-named
 * methods that return a new key; `assertValid` checks every invariant in one place.
 */
export class ApiKey {
  readonly #props: ApiKeyProps;

  private constructor(props: ApiKeyProps) {
    ApiKey.assertValid(props);
    this.#props = props;
  }

  static create(
    id: string,
    input: NewApiKey,
    secret: { prefix: string; start: string; end: string; hash: string },
    now: Date,
  ): ApiKey {
    if (input.expiresAt && input.expiresAt.getTime() <= now.getTime())
      throw ApiKeyErrors.invalid('expiresAt', 'must be in the future');
    return new ApiKey({
      id,
      name: input.name,
      role: input.role,
      ...secret,
      createdAt: now,
      expiresAt: input.expiresAt ?? null,
      revokedAt: null,
      lastUsedAt: null,
      rateLimitPerMinute: input.rateLimitPerMinute ?? null,
      graceUntil: null,
      rolledTo: null,
    });
  }

  static restore(props: ApiKeyProps): ApiKey {
    return new ApiKey(props);
  }

  get id(): string {
    return this.#props.id;
  }

  get role(): ApiKeyRole {
    return this.#props.role;
  }

  get rateLimitPerMinute(): number | null {
    return this.#props.rateLimitPerMinute;
  }

  /** Why the key is refused at `now`, or null when it is accepted. */
  unusableAt(now: Date): Unusable | null {
    const t = now.getTime();
    const { revokedAt, expiresAt, graceUntil } = this.#props;
    if (revokedAt && revokedAt.getTime() <= t) return 'revoked';
    if (graceUntil && graceUntil.getTime() <= t) return 'rolled';
    if (expiresAt && expiresAt.getTime() <= t) return 'expired';
    return null;
  }

  /** The latest moment the key can be accepted (null: no end), for how long a cache may trust it. */
  validUntil(): Date | null {
    const ends = [this.#props.expiresAt, this.#props.graceUntil, this.#props.revokedAt].filter((d) => d !== null);
    return ends.length === 0 ? null : new Date(Math.min(...ends.map((d) => d.getTime())));
  }

  /** Revoked from `now` on; revoking a revoked key changes nothing. */
  revoke(now: Date): ApiKey {
    if (this.#props.revokedAt) return this;
    return new ApiKey({ ...this.#props, revokedAt: now });
  }

  /**
   * Replaced by `successor`: this key stays valid for `graceSeconds` more (0: refused at once), and the
   * successor inherits its name, role, expiry and rate limit. A revoked or already rolled key cannot be.
   */
  roll(successor: ApiKey, graceSeconds: number, now: Date): ApiKey {
    if (this.unusableAt(now) === 'revoked') throw ApiKeyErrors.revoked(this.id);
    if (this.#props.rolledTo || this.#props.graceUntil) throw ApiKeyErrors.alreadyRolled(this.id);
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS)
      throw ApiKeyErrors.invalid('gracePeriodSeconds', `must be a whole number from 0 to ${MAX_GRACE_SECONDS}`);
    return new ApiKey({
      ...this.#props,
      graceUntil: new Date(now.getTime() + graceSeconds * 1000),
      rolledTo: successor.id,
    });
  }

  /** The successor's settings when this key is rolled: the same name, role, expiry and rate limit. */
  successorInput(): NewApiKey {
    const { name, role, expiresAt, rateLimitPerMinute } = this.#props;
    return { name, role, expiresAt, rateLimitPerMinute };
  }

  toProps(): ApiKeyProps {
    return { ...this.#props };
  }

  private static assertValid(p: ApiKeyProps): void {
    if (p.name.trim().length === 0 || p.name.length > MAX_NAME_LENGTH)
      throw ApiKeyErrors.invalid('name', `must be 1 to ${MAX_NAME_LENGTH} characters`);
    if (p.role !== 'admin' && p.role !== 'customer') throw ApiKeyErrors.invalid('role', 'must be admin or customer');
    if (!/^[0-9a-f]{64}$/.test(p.hash)) throw ApiKeyErrors.invalid('hash', 'must be a SHA-256 in hex');
    const limit = p.rateLimitPerMinute;
    if (limit !== null && (!Number.isInteger(limit) || limit < 1 || limit > MAX_RATE_LIMIT_PER_MINUTE))
      throw ApiKeyErrors.invalid('rateLimitPerMinute', `must be a whole number from 1 to ${MAX_RATE_LIMIT_PER_MINUTE}`);
  }
}
