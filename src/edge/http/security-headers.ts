import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import type { Step } from '../pipeline.ts';

export type HeaderList = readonly (readonly [name: string, value: string])[];

/**
 * The security headers helmet sets (CSP, HSTS, nosniff, frame and referrer policies, …), worked out once:
 * with a fixed configuration they do not depend on the request, so helmet stays the authority on their
 * values and the edge copies a precomputed list onto each response instead of running helmet's dozen
 * middlewares per request.
 */
export function securityHeaders(): HeaderList {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
  };
  let finished = false;
  helmet()({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    finished = true;
  });
  if (!finished) throw new Error('helmet did not set its headers synchronously');
  return [...headers];
}

export function setHeaders(res: ServerResponse, headers: HeaderList): void {
  for (const [name, value] of headers) res.setHeader(name, value);
}

/** The edge step setting the precomputed security headers. */
export function securityHeadersStep(headers: HeaderList = securityHeaders()): Step {
  return (_req, res, next) => {
    setHeaders(res, headers);
    next();
  };
}
