import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { KeySet, SigningKey } from './keys.ts';

/** `service` is for calls between the services (e.g. the order service reserving stock); no public route takes it. */
export type Role = 'admin' | 'customer' | 'service';

const ROLES: readonly string[] = ['admin', 'customer', 'service'] satisfies Role[];
const isRole = (value: unknown): value is Role => typeof value === 'string' && ROLES.includes(value);

export interface Principal {
  id: string;
  role: Role;
}

/**
 * The id prefix of principals authenticated by an API key. A bearer token may claim it only when it is as
 * short-lived as the ones the gateway mints for the services behind it after accepting a key
 * (API_KEY_TOKEN_TTL_SECONDS at most): a long-lived token posing as a key is refused.
 */
export const API_KEY_PRINCIPAL = 'apikey:';

/** The lifetime of the tokens the gateway signs for an API key it accepted, and the most such a token may have. */
export const API_KEY_TOKEN_TTL_SECONDS = 60;

/** A bearer token that was refused, and why (the edge answers it with a 401). */
export class TokenRefused extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'TokenRefused';
  }
}

/**
 * A token whose `kid` the key set does not know (yet): when the set comes from a JWKS URL that may be
 * fetched again now, `refresh` settles once it has been, and the token is worth verifying once more.
 */
export class UnknownKey extends TokenRefused {
  readonly refresh: Promise<void> | undefined;
  constructor(kid: string, refresh: Promise<void> | undefined) {
    super(`the token was refused: no key with kid "${kid.slice(0, 64)}"`);
    this.name = 'UnknownKey';
    this.refresh = refresh;
  }
}

/**
 * Which tokens a process issues and accepts. Two modes:
 * - HS256 (the embedded monolith's zero-config start, and legacy split setups): `secret` signs and verifies
 *   every token, user and service alike. Used only when no public key set is configured.
 * - asymmetric: user tokens are verified with `userKeys` (only the issuer holds `signer`), service tokens
 *   with `serviceKeys` (only the calling service holds `serviceSigner`). A key of one set is never accepted
 *   where the other is expected, so neither a service key nor a verifying role can mint user tokens.
 */
export interface JwtSettings {
  issuer: string;
  audience: string;
  /** HS256 key; ignored for verification as soon as a public key set is configured. */
  secret?: string;
  /** The user-token issuer's private key (`hexashop token`, or a role that issues tokens). */
  signer?: SigningKey;
  /** Public keys user tokens are verified with (a JWKS file and/or URL, or the signer's own). */
  userKeys?: KeySet;
  /** This service's private key for calling other services' internal APIs. */
  serviceSigner?: SigningKey;
  /** Public keys of the services allowed to call this one's internal API. */
  serviceKeys?: KeySet;
}

/** Which API a token is presented to: the public API (user tokens) or a service's internal API (service tokens). */
export type TokenScope = 'public' | 'internal';

const HS256 = 'HS256';

const keys = new Map<string, KeyObject>();

/**
 * The signing secret as a KeyObject, made once: handed a string, jsonwebtoken tries it as a PEM public key
 * first (a throw and a catch), then wraps it anew, on every token (about 22 µs of a 29 µs verification).
 */
function secretKey(secret: string): KeyObject {
  let key = keys.get(secret);
  if (key === undefined) {
    if (keys.size >= 16) keys.clear();
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keys.set(secret, key);
  }
  return key;
}
const SUBJECT = /^[\w.@:-]{1,128}$/;

/** Asymmetric as soon as a public key set is configured: the shared secret then verifies nothing. */
const asymmetric = (settings: JwtSettings) => settings.userKeys !== undefined || settings.serviceKeys !== undefined;

/**
 * Signs a token: a user token with the issuer's private key, a service token with the service's own key;
 * with neither configured, in HS256 mode, with the shared secret as before.
 */
export function signToken(
  settings: JwtSettings,
  principal: Principal,
  ttlSeconds: number,
  use: 'user' | 'service' = 'user',
): string {
  const options = {
    subject: principal.id,
    issuer: settings.issuer,
    audience: settings.audience,
    expiresIn: ttlSeconds,
  };
  const signer = use === 'service' ? settings.serviceSigner : settings.signer;
  if (signer) {
    return jwt.sign({ role: principal.role }, signer.privateKey, {
      ...options,
      algorithm: signer.alg,
      keyid: signer.kid,
    });
  }
  if (settings.secret !== undefined && !asymmetric(settings)) {
    return jwt.sign({ role: principal.role }, secretKey(settings.secret), { ...options, algorithm: HS256 });
  }
  throw new Error(
    use === 'service'
      ? 'no key to sign service tokens with: configure --service-key-file'
      : 'no key to sign tokens with: configure --jwt-private-key-file',
  );
}

/**
 * Verifies a bearer token and returns who it names, or throws TokenRefused. Fails closed: the algorithm is
 * pinned (HS256 in HS256 mode; in asymmetric mode the one of the key its `kid` names, so `alg: none` and
 * key-confusion tokens are refused), `exp`, `sub` and a known role are required, `nbf` is honoured, issuer and
 * audience must match. The public API takes user tokens only, the internal API service tokens only.
 */
export function verifyToken(settings: JwtSettings, token: string, scope: TokenScope = 'public'): Principal {
  const header = headerOf(token);
  // RFC 7515 §4.1.11: a `crit` header names extensions the recipient must understand; we understand none.
  if (header !== undefined && 'crit' in header) {
    throw new TokenRefused('the token names critical extensions this service does not support');
  }
  let key: KeyObject;
  let algorithm: jwt.Algorithm;
  if (asymmetric(settings)) {
    ({ key, algorithm } = publicKeyFor(settings, header, scope));
  } else if (settings.secret !== undefined) {
    key = secretKey(settings.secret);
    algorithm = HS256;
  } else {
    throw new TokenRefused('the token was refused: no key to verify it with');
  }
  let claims: jwt.JwtPayload;
  try {
    const decoded = jwt.verify(token, key, {
      algorithms: [algorithm],
      issuer: settings.issuer,
      audience: settings.audience,
      clockTolerance: 5,
    });
    if (typeof decoded === 'string') throw new Error('payload is not a JSON object');
    claims = decoded;
  } catch (error) {
    throw new TokenRefused(`the token was refused: ${(error as Error).message}`);
  }
  if (typeof claims.exp !== 'number') throw new TokenRefused('the token has no expiry');
  if (typeof claims.sub !== 'string' || !SUBJECT.test(claims.sub))
    throw new TokenRefused('the token has no valid subject');
  if (
    claims.sub.startsWith(API_KEY_PRINCIPAL) &&
    !(typeof claims.iat === 'number' && claims.exp - claims.iat <= API_KEY_TOKEN_TTL_SECONDS)
  )
    throw new TokenRefused(`a token subject may start with "${API_KEY_PRINCIPAL}" only in a short-lived token`);
  if (!isRole(claims.role)) throw new TokenRefused('the token has no known role');
  if (asymmetric(settings) && (claims.role === 'service') !== (scope === 'internal')) {
    throw new TokenRefused(
      scope === 'internal' ? 'the internal API takes service tokens only' : 'service tokens are not for the public API',
    );
  }
  return { id: claims.sub, role: claims.role };
}

/** The key (and with it the one algorithm) a token's `kid` names in the key set of the scope. */
function publicKeyFor(
  settings: JwtSettings,
  header: jwt.JwtHeader | undefined,
  scope: TokenScope,
): { key: KeyObject; algorithm: jwt.Algorithm } {
  if (header === undefined) throw new TokenRefused('the token was refused: jwt malformed');
  const kid = header.kid;
  if (typeof kid !== 'string' || kid.length === 0) throw new TokenRefused('the token was refused: it names no kid');
  if (scope === 'public' && settings.serviceKeys?.get(kid)) {
    throw new TokenRefused('the token was refused: it is signed by a service key');
  }
  const set = scope === 'internal' ? settings.serviceKeys : settings.userKeys;
  const found = set?.get(kid);
  if (!found) throw new UnknownKey(kid, set?.refreshFor(kid));
  return { key: found.key, algorithm: found.alg };
}

function headerOf(token: string): jwt.JwtHeader | undefined {
  try {
    return jwt.decode(token, { complete: true })?.header;
  } catch {
    return undefined; // not a JWT at all: jwt.verify says so
  }
}
