import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { logContext } from '../../bootstrap/logger.ts';

const SAFE_ID = /^[\w.:-]{1,128}$/;

declare global {
  namespace Express {
    interface Request {
      id: string;
    }
  }
}

/**
 * Assigns the request id (or keeps a well-formed one the caller sent), echoes it, and makes it the
 * correlation id of every log line and every event written while handling the request.
 */
export const requestContext: RequestHandler = (req, res, next) => {
  const given = req.get('x-request-id');
  req.id = given && SAFE_ID.test(given) ? given : randomUUID();
  res.set('X-Request-Id', req.id);
  logContext.run({ requestId: req.id, correlationId: req.id }, next);
};
