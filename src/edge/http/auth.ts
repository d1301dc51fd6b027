import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { HttpProblem } from './problem.ts';

import {
  API_KEY_PRINCIPAL,
  type JwtSettings,
  type Principal,
  type Role,
  TokenRefused,
  type TokenScope,
  UnknownKey,
  verifyToken,
} from '../../adapters/auth/jwt.ts';

export {
  API_KEY_PRINCIPAL,
  type JwtSettings,
  type Principal,
  type Role,
  signToken,
  type TokenScope,
  UnknownKey,
} from '../../adapters/auth/jwt.ts';

/** A configured API key: `X-API-Key: <secret>` authenticates as `{ id: 'apikey:<id>', role }`. */
export interface ApiKey {
  id: string;
  role: 'admin' | 'customer';
  secret: string;
}

declare module 'node:http' {
  interface IncomingMessage {
    /** Who sent the request, once the edge's credentials step has read them. */
    principal?: Principal;
    /** A managed API key's own rate limit per minute (each budget), when it has one. */
    apiKeyRateLimit?: number;
  }
}

/** What a managed API key (the access module's) grants: `apikey:<id>` with a role, and maybe its own rate limit. */
export interface ApiKeyGrant {
  id: string;
  role: 'admin' | 'customer';
  rateLimitPerMinute: number | null;
}

/**
 * Verifies managed API keys: the grant, or null for a key it refuses (malformed, unknown, revoked, expired).
 * Synchronous when it knows the answer (its cache), a promise when it must ask the database.
 */
export type ManagedApiKeys = (presented: string) => ApiKeyGrant | null | Promise<ApiKeyGrant | null>;

/**
 * Thrown by `principalOf` when a managed API key needs a database lookup: `lookup` settles with the principal
 * (and `req.apiKeyRateLimit` set), or rejects with the 401 (or a 503 when the key store is down).
 */
export class ApiKeyLookupPending extends Error {
  readonly lookup: Promise<Principal>;
  constructor(lookup: Promise<Principal>) {
    super('the API key is being looked up');
    this.name = 'ApiKeyLookupPending';
    this.lookup = lookup;
  }
}

export function unauthorized(error: string, detail: string) {
  return new HttpProblem(401, error === 'invalid_token' ? 'INVALID_TOKEN' : 'MISSING_TOKEN', detail, {
    headers: { 'WWW-Authenticate': `Bearer realm="hexashop", error="${error}"` },
  });
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * The API keys: the configured ones (`--api-keys`, e.g. a bootstrap admin key), held as SHA-256 digests only,
 * then the managed ones (the access module) when there are. A presented key is hashed and compared with
 * every configured entry in constant time (equal-length digests, no early exit), so neither the time taken
 * nor the length of the secret tells anything about which key, if any, came close. Managed keys are looked
 * up by their SHA-256 (see ApiKeyAuthenticator), which leaks nothing about stored keys either.
 */
export class ApiKeyRing {
  readonly #entries: { digest: Buffer; principal: Principal }[];
  readonly #managed: ManagedApiKeys | undefined;

  constructor(keys: readonly ApiKey[], managed?: ManagedApiKeys) {
    this.#entries = keys.map((k) => ({
      digest: sha256(k.secret),
      principal: { id: `${API_KEY_PRINCIPAL}${k.id}`, role: k.role },
    }));
    this.#managed = managed;
  }

  /**
   * Who the key names; fails closed: an unknown key (or none configured) is a 401. A managed key whose answer
   * needs the database throws ApiKeyLookupPending; its own rate limit goes to `req.apiKeyRateLimit`.
   */
  verify(presented: string, req?: IncomingMessage): Principal {
    const digest = sha256(presented);
    let found: Principal | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.digest, digest)) found = entry.principal;
    }
    if (found) return found;
    if (!this.#managed) throw apiKeyRefused();
    const answer = this.#managed(presented);
    if (answer instanceof Promise) throw new ApiKeyLookupPending(answer.then((grant) => accept(grant, req)));
    return accept(answer, req);
  }
}

const apiKeyRefused = () =>
  new HttpProblem(401, 'INVALID_API_KEY', 'the API key was refused', {
    headers: { 'WWW-Authenticate': 'ApiKey realm="hexashop"' },
  });

function accept(grant: ApiKeyGrant | null, req: IncomingMessage | undefined): Principal {
  if (!grant) throw apiKeyRefused();
  if (req && grant.rateLimitPerMinute !== null) req.apiKeyRateLimit = grant.rateLimitPerMinute;
  return { id: `${API_KEY_PRINCIPAL}${grant.id}`, role: grant.role };
}

const NO_API_KEYS = new ApiKeyRing([]);

/**
 * Thrown by `principalOf` for a bearer token whose `kid` is not known yet while the JWKS URL may be fetched
 * again: ask once more after `refresh` (a key published for a rotation is then known), else refuse.
 */
export class KeyRefreshPending extends Error {
  readonly refresh: Promise<void>;
  constructor(refresh: Promise<void>) {
    super('the signing key is being looked up');
    this.name = 'KeyRefreshPending';
    this.refresh = refresh;
  }
}

/**
 * Who the request's credentials name (undefined without any): a bearer token (`Authorization`) or an API
 * key (`X-API-Key`). Throws the 400 or 401 for bad ones: bad credentials are refused even on public routes.
 * Both at once is a 400: they may name different principals, and silently preferring one would hide a
 * client's (or a proxy's) mistake.
 */
export function principalOf(
  req: IncomingMessage,
  settings: JwtSettings,
  apiKeys: ApiKeyRing = NO_API_KEYS,
  scope: TokenScope = 'public',
): Principal | undefined {
  const header = req.headers.authorization;
  const apiKey = req.headers['x-api-key'];
  // Node keeps the first of two Authorization headers and drops the other: count them in the raw headers.
  if ((header !== undefined && apiKey !== undefined) || credentialHeaders(req) > 1) {
    throw new HttpProblem(400, 'AMBIGUOUS_CREDENTIALS', 'send one Authorization or one X-API-Key header, not more');
  }
  if (apiKey !== undefined) return apiKeys.verify(Array.isArray(apiKey) ? apiKey.join(', ') : apiKey, req);
  if (header === undefined) return undefined;
  const match = /^Bearer +([\w-]+\.[\w-]+\.[\w-]*)$/i.exec(header);
  if (!match) throw unauthorized('invalid_request', 'Authorization must be "Bearer <JWT>"');
  try {
    return verifyToken(settings, match[1]!, scope);
  } catch (error) {
    if (error instanceof UnknownKey && error.refresh) throw new KeyRefreshPending(error.refresh);
    if (error instanceof TokenRefused) throw unauthorized('invalid_token', error.message);
    throw error;
  }
}

function credentialHeaders(req: IncomingMessage): number {
  let count = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Length first: most headers are neither, and lower-casing each would cost the hot path an allocation.
    if (
      name.length === 13
        ? name.toLowerCase() === 'authorization'
        : name.length === 9 && name.toLowerCase() === 'x-api-key'
    )
      count++;
  }
  return count;
}

/** Route guard: a principal with one of the roles is required (401 without one, 403 with the wrong one). */
export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) => {
    if (!req.principal) return next(unauthorized('invalid_request', 'this route needs a bearer token or an API key'));
    if (!roles.includes(req.principal.role)) {
      return next(new HttpProblem(403, 'FORBIDDEN', `this route is for ${roles.join(' or ')} only`));
    }
    next();
  };
}
