import express, { type RequestHandler } from 'express';
import { HttpProblem } from './problem.ts';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Thrown from the reviver. body-parser strips every own property but `message` from what JSON.parse throws,
 * so an HttpProblem would lose its status and code there: this class survives and is turned into one below.
 */
class ForbiddenKeyError extends Error {}

/** Rejects prototype-pollution keys anywhere in the document, before any code can spread the object. */
function reviver(key: string, value: unknown) {
  if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKeyError(`the key "${key}" is not allowed`);
  return value;
}

/**
 * JSON bodies only, up to the configured size; a body with another media type is refused with 415 on
 * the methods that take one.
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const parse = express.json({
    limit: limitBytes,
    strict: true,
    reviver,
    type: ['application/json', 'application/*+json'],
  });
  const requireJson: RequestHandler = (req, _res, next) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && !req.is(['application/json', 'application/*+json'])) {
      return next(new HttpProblem(415, 'UNSUPPORTED_MEDIA_TYPE', 'request bodies must be application/json'));
    }
    next();
  };
  const parseJson: RequestHandler = (req, res, next) =>
    parse(req, res, (error?: unknown) =>
      next(error instanceof ForbiddenKeyError ? new HttpProblem(400, 'FORBIDDEN_KEY', error.message) : error),
    );
  return [requireJson, parseJson];
}
