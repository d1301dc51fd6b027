import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import typeIs from 'type-is';
import type { Step } from '../pipeline.ts';
import { HttpProblem } from './problem.ts';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Thrown from the reviver. body-parser strips every own property but `message` from what JSON.parse throws,
 * so an HttpProblem would lose its status and code there: this class survives and is turned into one below.
 */
class ForbiddenKeyError extends Error {}

/** C0 controls but tab, line feed and carriage return, and DEL: no text of this API holds them (a NUL breaks SQLite). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

/**
 * Rejects prototype-pollution keys anywhere in the document, before any code can spread the object, and
 * control characters in any key or string.
 */
function reviver(key: string, value: unknown) {
  if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKeyError(`the key "${key}" is not allowed`);
  if (CONTROL.test(key) || (typeof value === 'string' && CONTROL.test(value))) {
    throw new ControlCharacterError('a string in the body holds a control character');
  }
  return value;
}

class ControlCharacterError extends Error {}

const JSON_TYPES = ['application/json', 'application/*+json'];
/** What body-parser can inflate; anything else it refuses with 415. */
const ENCODINGS = new Set(['identity', 'gzip', 'deflate', 'br']);

/** Does the request have a body (RFC 9112 §6.3)? */
export const hasBody = (req: IncomingMessage) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

const notJson = (req: IncomingMessage) =>
  hasBody(req) && !typeIs(req, JSON_TYPES)
    ? new HttpProblem(415, 'UNSUPPORTED_MEDIA_TYPE', 'request bodies must be application/json')
    : null;

declare module 'node:http' {
  interface IncomingMessage {
    /** How the module routes read this request's body (set by `deferredJsonBody`; see `readJson`). */
    bodyReader?: (req: IncomingMessage) => Promise<unknown>;
    /** The body once a route asked for it: read once, however often it is asked. */
    jsonBody?: Promise<unknown>;
  }
}

/**
 * The edge step for a body the module routes read. It reads nothing yet: it gives the request a reader that
 * the route calls (`readJson`) once routing and its role checks have passed, so an anonymous or forbidden
 * request is refused as such whatever its body. The reader takes JSON only (another media type is a 415),
 * up to the configured size, without prototype-polluting keys or control characters. One reader per step,
 * not per request: a read that has no body to read (every GET) costs nothing.
 */
export function deferredJsonBody(limitBytes: number): Step {
  const parse = express.json({ limit: limitBytes, strict: true, reviver, type: JSON_TYPES });
  const reader = (req: IncomingMessage) =>
    new Promise<unknown>((resolve, reject) => {
      const unsupported = notJson(req);
      if (unsupported) return reject(unsupported);
      // body-parser only reads Node's own request (headers, stream) and sets req.body; the response it is
      // handed goes to a `verify` option this parser does not have.
      const res = (req as IncomingMessage & { res?: ServerResponse }).res;
      parse(req as express.Request, res as express.Response, (error?: unknown) =>
        error === undefined ? resolve((req as { body?: unknown }).body) : reject(asProblem(error)),
      );
    });
  return (req, _res, next) => {
    req.bodyReader = reader;
    next();
  };
}

/** The request's JSON body (see deferredJsonBody); undefined where the edge gave it no reader. */
export function readJson(req: IncomingMessage): Promise<unknown> {
  if (!req.bodyReader) return Promise.resolve(undefined);
  return (req.jsonBody ??= req.bodyReader(req));
}

const asProblem = (error: unknown) =>
  error instanceof ForbiddenKeyError
    ? new HttpProblem(400, 'FORBIDDEN_KEY', error.message)
    : error instanceof ControlCharacterError
      ? new HttpProblem(400, 'CONTROL_CHARACTER', error.message)
      : error;

/** The edge step for a body the gateway streams to a service: what its headers tell (bodyHeaderProblem). */
export function declaredBody(limitBytes: number): Step {
  return (req, _res, next) => next(bodyHeaderProblem(req, limitBytes) ?? undefined);
}

/**
 * What can be told from the headers alone, for the gateway, which streams bodies to the services unparsed:
 * a body that is not JSON (415, also for a charset other than UTF-* or an encoding the services cannot
 * inflate) or whose declared length is over the limit (413) is refused before it is forwarded. Parsing,
 * forbidden keys and the limit on chunked or inflated bodies stay with the services, whose answers pass back.
 */
export function bodyHeaderProblem(req: IncomingMessage, limitBytes: number): HttpProblem | null {
  if (!hasBody(req)) return null;
  const unsupported = notJson(req);
  if (unsupported) return unsupported;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !charset.toLowerCase().startsWith('utf-')) {
    return new HttpProblem(415, 'UNSUPPORTED_ENCODING', 'the body must be UTF-8 JSON');
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (!ENCODINGS.has(encoding)) return new HttpProblem(415, 'UNSUPPORTED_ENCODING', 'the body must be UTF-8 JSON');
  if (Number(req.headers['content-length'] ?? 0) > limitBytes) {
    return new HttpProblem(413, 'BODY_TOO_LARGE', 'the request body is larger than allowed');
  }
  return null;
}
