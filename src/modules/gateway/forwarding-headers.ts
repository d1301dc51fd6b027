import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Request } from 'express';
import { childTraceparent, parseTraceparent } from '../../adapters/http/trace-context.ts';

/**
 * What a proxy must change in the headers it passes on (RFC 9110 §7.6): hop-by-hop headers stay on their hop,
 * the X-Forwarded-* chain grows by one, and every request carries a request id and a trace context.
 * Everything else, Authorization included, passes untouched.
 */
export type HeaderMap = Record<string, string | string[]>;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);
/** Set by the HTTP client from the upstream URL and the body it streams, not copied from the client. */
const REQUEST_ONLY = new Set(['host', 'content-length', 'expect']);
const SAFE_ID = /^[\w.:-]{1,128}$/;

/** Header names listed in `Connection` are hop-by-hop too. */
function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection;
  const list = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    list
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

function endToEnd(headers: IncomingHttpHeaders, drop: Set<string>): HeaderMap {
  const listed = connectionTokens(headers);
  const kept: HeaderMap = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || drop.has(name)) continue;
    kept[name] = value;
  }
  return kept;
}

const append = (existing: string | string[] | undefined, value: string) => {
  const prior = Array.isArray(existing) ? existing.join(', ') : existing?.trim();
  return prior ? `${prior}, ${value}` : value;
};

/** Does the client's request have a body to stream (RFC 9112 §6.3)? */
export function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** The headers to send upstream for a client's request. */
export function upstreamRequestHeaders(req: Request): HeaderMap {
  const headers = endToEnd(req.headers, REQUEST_ONLY);
  // A length the client declared is kept (undici checks the body against it); chunked bodies are re-chunked.
  const length = req.headers['content-length'];
  if (length !== undefined && req.headers['transfer-encoding'] === undefined && hasBody(req)) {
    headers['content-length'] = length;
  }
  const given = req.get('x-request-id');
  headers['x-request-id'] = req.id ?? (given && SAFE_ID.test(given) ? given : randomUUID());
  if (!parseTraceparent(req.get('traceparent'))) {
    // An invalid traceparent invalidates its tracestate too (W3C Trace Context §3.3).
    delete headers.tracestate;
    headers.traceparent = childTraceparent();
  }
  const remote = req.socket.remoteAddress;
  if (remote) headers['x-forwarded-for'] = append(req.headers['x-forwarded-for'], remote);
  headers['x-forwarded-proto'] = append(req.headers['x-forwarded-proto'], req.protocol);
  if (req.headers['x-forwarded-host'] === undefined && req.headers.host) headers['x-forwarded-host'] = req.headers.host;
  return headers;
}

/** The headers to send the client for an upstream's response. */
export function clientResponseHeaders(headers: IncomingHttpHeaders): HeaderMap {
  return endToEnd(headers, new Set());
}
