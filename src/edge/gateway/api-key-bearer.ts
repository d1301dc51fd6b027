import type { IncomingMessage } from 'node:http';
import { API_KEY_TOKEN_TTL_SECONDS, type JwtSettings, type Principal, signToken } from '../../adapters/auth/jwt.ts';
import { HttpProblem } from '../http/problem.ts';
import type { HeaderMap } from './forwarding-headers.ts';

/**
 * The services behind the gateway have no access database, yet verify every request's credentials again.
 * So once the gateway has accepted an API key, it forwards the request without `X-API-Key` and with
 * `Authorization: Bearer <token>` naming the key's principal (`apikey:<id>`, its role), signed with the
 * role's user-token settings and short-lived (API_KEY_TOKEN_TTL_SECONDS; verifyToken accepts an `apikey:`
 * subject only in a token that short). The key itself never reaches a service. One token per principal is
 * reused for the first three quarters of its life (signing is the costly part, ES256/RS256 especially).
 */
export function apiKeyBearer(jwt: JwtSettings): (req: IncomingMessage, headers: HeaderMap) => void {
  const minted = new Map<string, { token: string; renewAt: number }>();
  const tokenFor = (principal: Principal): string => {
    const cacheKey = `${principal.id}\u0000${principal.role}`;
    const now = Date.now();
    const cached = minted.get(cacheKey);
    if (cached && cached.renewAt > now) return cached.token;
    let token: string;
    try {
      token = signToken(jwt, principal, API_KEY_TOKEN_TTL_SECONDS);
    } catch (error) {
      throw new HttpProblem(
        503,
        'API_KEY_FORWARDING_UNAVAILABLE',
        `the gateway cannot vouch for API keys to the services: ${(error as Error).message}`,
      );
    }
    if (minted.size >= 10_000) minted.clear();
    minted.set(cacheKey, { token, renewAt: now + API_KEY_TOKEN_TTL_SECONDS * 750 });
    return token;
  };
  return (req, headers) => {
    if (headers['x-api-key'] === undefined || !req.principal) return;
    delete headers['x-api-key'];
    headers.authorization = `Bearer ${tokenFor(req.principal)}`;
  };
}
