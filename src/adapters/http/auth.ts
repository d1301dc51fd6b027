import type { RequestHandler } from 'express';
import jwt from 'jsonwebtoken';
import { HttpProblem } from './problem.ts';

/** `service` is for calls between the services (e.g. the order service reserving stock); no public route takes it. */
export type Role = 'admin' | 'customer' | 'service';

const ROLES: readonly string[] = ['admin', 'customer', 'service'] satisfies Role[];
const isRole = (value: unknown): value is Role => typeof value === 'string' && ROLES.includes(value);

export interface Principal {
  id: string;
  role: Role;
}

export interface JwtSettings {
  secret: string;
  issuer: string;
  audience: string;
}

declare global {
  namespace Express {
    interface Request {
      principal?: Principal;
    }
  }
}

const ALGORITHM = 'HS256';
const SUBJECT = /^[\w.@:-]{1,128}$/;

export function signToken(settings: JwtSettings, principal: Principal, ttlSeconds: number): string {
  return jwt.sign({ role: principal.role }, settings.secret, {
    algorithm: ALGORITHM,
    subject: principal.id,
    issuer: settings.issuer,
    audience: settings.audience,
    expiresIn: ttlSeconds,
  });
}

/**
 * Verifies a bearer token and returns who it names. Fails closed: the algorithm is pinned (so `alg: none`
 * and key-confusion tokens are refused), `exp`, `sub` and a known role are required, issuer and audience
 * must match.
 */
export function verifyToken(settings: JwtSettings, token: string): Principal {
  let claims: jwt.JwtPayload;
  try {
    const decoded = jwt.verify(token, settings.secret, {
      algorithms: [ALGORITHM],
      issuer: settings.issuer,
      audience: settings.audience,
      clockTolerance: 5,
    });
    if (typeof decoded === 'string') throw new Error('payload is not a JSON object');
    claims = decoded;
  } catch (error) {
    throw unauthorized('invalid_token', `the token was refused: ${(error as Error).message}`);
  }
  if (typeof claims.exp !== 'number') throw unauthorized('invalid_token', 'the token has no expiry');
  if (typeof claims.sub !== 'string' || !SUBJECT.test(claims.sub))
    throw unauthorized('invalid_token', 'the token has no valid subject');
  if (!isRole(claims.role)) throw unauthorized('invalid_token', 'the token has no known role');
  return { id: claims.sub, role: claims.role };
}

function unauthorized(error: string, detail: string) {
  return new HttpProblem(401, error === 'invalid_token' ? 'INVALID_TOKEN' : 'MISSING_TOKEN', detail, {
    headers: { 'WWW-Authenticate': `Bearer realm="hexashop", error="${error}"` },
  });
}

/** Reads the principal when a token is present; a bad token is refused even on public routes. */
export function authenticate(settings: JwtSettings): RequestHandler {
  return (req, _res, next) => {
    const header = req.get('authorization');
    if (header === undefined) return next();
    const match = /^Bearer +([\w-]+\.[\w-]+\.[\w-]*)$/i.exec(header);
    if (!match) return next(unauthorized('invalid_request', 'Authorization must be "Bearer <JWT>"'));
    req.principal = verifyToken(settings, match[1]!);
    next();
  };
}

/** Route guard: a principal with one of the roles is required (401 without one, 403 with the wrong one). */
export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) => {
    if (!req.principal) return next(unauthorized('invalid_request', 'this route needs a bearer token'));
    if (!roles.includes(req.principal.role)) {
      return next(new HttpProblem(403, 'FORBIDDEN', `this route is for ${roles.join(' or ')} only`));
    }
    next();
  };
}
