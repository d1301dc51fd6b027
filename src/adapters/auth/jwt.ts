import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

/** `service` is for calls between the services (e.g. the order service reserving stock); no public route takes it. */
export type Role = 'admin' | 'customer' | 'service';

const ROLES: readonly string[] = ['admin', 'customer', 'service'] satisfies Role[];
const isRole = (value: unknown): value is Role => typeof value === 'string' && ROLES.includes(value);

export interface Principal {
  id: string;
  role: Role;
}

/** The id prefix of principals authenticated by an API key; bearer tokens may not claim it. */
export const API_KEY_PRINCIPAL = 'apikey:';

/** A bearer token that was refused, and why (the edge answers it with a 401). */
export class TokenRefused extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'TokenRefused';
  }
}

export interface JwtSettings {
  secret: string;
  issuer: string;
  audience: string;
}

const ALGORITHM = 'HS256';

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

export function signToken(settings: JwtSettings, principal: Principal, ttlSeconds: number): string {
  return jwt.sign({ role: principal.role }, secretKey(settings.secret), {
    algorithm: ALGORITHM,
    subject: principal.id,
    issuer: settings.issuer,
    audience: settings.audience,
    expiresIn: ttlSeconds,
  });
}

/**
 * Verifies a bearer token and returns who it names, or throws TokenRefused. Fails closed: the algorithm is pinned (so `alg: none`
 * and key-confusion tokens are refused), `exp`, `sub` and a known role are required, issuer and audience
 * must match.
 */
export function verifyToken(settings: JwtSettings, token: string): Principal {
  let claims: jwt.JwtPayload;
  // RFC 7515 §4.1.11: a `crit` header names extensions the recipient must understand; we understand none.
  if (criticalExtensions(token)) {
    throw new TokenRefused('the token names critical extensions this service does not support');
  }
  try {
    const decoded = jwt.verify(token, secretKey(settings.secret), {
      algorithms: [ALGORITHM],
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
  if (claims.sub.startsWith(API_KEY_PRINCIPAL))
    throw new TokenRefused(`a token subject may not start with "${API_KEY_PRINCIPAL}"`);
  if (!isRole(claims.role)) throw new TokenRefused('the token has no known role');
  return { id: claims.sub, role: claims.role };
}

function criticalExtensions(token: string): boolean {
  try {
    const header = jwt.decode(token, { complete: true })?.header;
    return header !== undefined && 'crit' in header;
  } catch {
    return false; // not a JWT at all: jwt.verify says so
  }
}
