import type { Request, Response } from 'express';

/**
 * Answers with a JSON document that is serialised already (e.g. read from a cache) exactly as Express's
 * `res.json` answers with the same document: `Content-Type: application/json; charset=utf-8` and its
 * `Content-Length`, `304 Not Modified` without a body when the request's validators say the client's copy is
 * fresh (set the ETag first), and no body for HEAD; without serialising the document again and without
 * `res.send`'s inspection of what it is handed.
 */
export function sendJsonText(req: Request, res: Response, json: string): void {
  const { 'if-none-match': noneMatch, 'if-modified-since': modifiedSince } = req.headers;
  // Only a conditional request can be fresh; Express's check reads the response's validators first.
  if ((noneMatch !== undefined || modifiedSince !== undefined) && req.fresh) {
    res.statusCode = 304;
    return void res.end();
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(json));
  if (req.method === 'HEAD') res.end();
  else res.end(json);
}
