import type { IncomingMessage } from 'node:http';
import type { Step } from '../pipeline.ts';
import { type ApiKeyRing, type JwtSettings, principalOf } from './auth.ts';

/** Credentials that were refused, held until the verdict step so the rate limits can count the request first. */
const refusals = new WeakMap<IncomingMessage, unknown>();

/**
 * Reads who the request's credentials name (a bearer token or an API key) into `req.principal`. Bad
 * credentials do not stop the request here: the refusal waits for `credentialsVerdict`, so the rate limits
 * in between key the request on its IP address and a client guessing tokens or keys spends its budget.
 */
export function readCredentials(jwt: JwtSettings, apiKeys: ApiKeyRing): Step {
  return (req, _res, next) => {
    try {
      req.principal = principalOf(req, jwt, apiKeys);
    } catch (refusal) {
      refusals.set(req, refusal);
    }
    next();
  };
}

/** Stops a request whose credentials were refused (the 400 or 401 `readCredentials` held back). */
export const credentialsVerdict: Step = (req, _res, next) => next(refusals.get(req));
