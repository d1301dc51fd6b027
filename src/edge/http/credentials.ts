import type { Step } from '../pipeline.ts';
import type { IncomingMessage } from 'node:http';
import {
  ApiKeyLookupPending,
  type ApiKeyRing,
  type JwtSettings,
  KeyRefreshPending,
  principalOf,
  type TokenScope,
  unauthorized,
} from './auth.ts';

declare module 'node:http' {
  interface IncomingMessage {
    /** Credentials that were refused, held until the verdict step so the rate limits can count the request first. */
    credentialsRefused?: unknown;
  }
}

/**
 * Reads who the request's credentials name (a bearer token or an API key) into `req.principal`. Bad
 * credentials do not stop the request here: the refusal waits for `credentialsVerdict`, so the rate limits
 * in between key the request on its IP address and a client guessing tokens or keys spends its budget.
 */
export function readCredentials(jwt: JwtSettings, apiKeys: ApiKeyRing, scope: TokenScope = 'public'): Step {
  const read = (req: IncomingMessage, retried: boolean): Promise<unknown> | undefined => {
    try {
      req.principal = principalOf(req, jwt, apiKeys, scope);
    } catch (refusal) {
      // A managed API key the authenticator must look up (its cache had no answer): settled, never re-read.
      if (refusal instanceof ApiKeyLookupPending) {
        return refusal.lookup.then(
          (principal) => void (req.principal = principal),
          (error: unknown) => void (req.credentialsRefused = error),
        );
      }
      if (refusal instanceof KeyRefreshPending && !retried) return refusal.refresh.then(() => read(req, true));
      req.credentialsRefused =
        refusal instanceof KeyRefreshPending
          ? unauthorized('invalid_token', 'the token names an unknown key')
          : refusal;
    }
    return undefined;
  };
  return (req, _res, next) => {
    // A token naming a key not known yet waits for one fetch of the JWKS URL (rare: a key rotation), then is read again.
    const pending = read(req, false);
    if (pending) void pending.then(() => next());
    else next();
  };
}

/** Stops a request whose credentials were refused (the 400 or 401 `readCredentials` held back). */
export const credentialsVerdict: Step = (req, _res, next) => next(req.credentialsRefused);

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Every write of the API needs a principal: an anonymous one is refused (401) here, before its body is
 * looked at, so a client learns it must authenticate whatever it sent. Roles are the routes' business.
 */
export const writesNeedCredentials: Step = (req, _res, next) =>
  next(
    READS.has(req.method!) || req.principal
      ? undefined
      : unauthorized('invalid_request', 'writes need a bearer token or an API key'),
  );
