import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { hasBody } from '../http/json-body.ts';
import { childTraceparent, currentTraceparent, parseTraceparent } from '../../adapters/tracing/traceparent.ts';

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

const NONE: ReadonlySet<string> = new Set();

/** Header names listed in `Connection` are hop-by-hop too (usually there are none: no set is made then). */
function connectionTokens(headers: IncomingHttpHeaders): ReadonlySet<string> {
  const value = headers.connection;
  if (value === undefined) return NONE;
  const list = Array.isArray(value) ? value.join(',') : value;
  const tokens = new Set<string>();
  for (const token of list.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && name !== 'keep-alive' && name !== 'close') tokens.add(name);
  }
  return tokens.size === 0 ? NONE : tokens;
}

const isEndToEnd = (name: string, listed: ReadonlySet<string>) => !HOP_BY_HOP.has(name) && !listed.has(name);

function endToEnd(headers: IncomingHttpHeaders, drop: ReadonlySet<string>): HeaderMap {
  const listed = connectionTokens(headers);
  const kept: HeaderMap = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || !isEndToEnd(name, listed) || drop.has(name)) continue;
    kept[name] = value;
  }
  return kept;
}

const single = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

const append = (existing: string | string[] | undefined, value: string) => {
  const prior = Array.isArray(existing) ? existing.join(', ') : existing?.trim();
  return prior ? `${prior}, ${value}` : value;
};

/** The headers to send upstream for a client's request. */
export function upstreamRequestHeaders(req: IncomingMessage): HeaderMap {
  const headers = endToEnd(req.headers, REQUEST_ONLY);
  // A length the client declared is kept (undici checks the body against it); chunked bodies are re-chunked.
  const length = req.headers['content-length'];
  if (length !== undefined && req.headers['transfer-encoding'] === undefined && hasBody(req)) {
    headers['content-length'] = length;
  }
  headers['x-request-id'] = req.id;
  // An invalid traceparent invalidates its tracestate too (W3C Trace Context §3.3). The trace is the one this
  // request is logged under: the caller's, or the one the edge's trace step started (its span, when spans are
  // recorded; the proxy then names each attempt's span instead); outside the edge, the caller's or a new one.
  const given = single(req.headers.traceparent);
  const valid = parseTraceparent(given) !== null;
  if (!valid) delete headers.tracestate;
  headers.traceparent = currentTraceparent() ?? (valid ? given!.trim() : childTraceparent());
  const remote = req.socket.remoteAddress;
  if (remote) headers['x-forwarded-for'] = append(req.headers['x-forwarded-for'], remote);
  headers['x-forwarded-proto'] = append(req.headers['x-forwarded-proto'], 'encrypted' in req.socket ? 'https' : 'http');
  if (req.headers['x-forwarded-host'] === undefined && req.headers.host) headers['x-forwarded-host'] = req.headers.host;
  return headers;
}

/** Sets an upstream's response headers on the client's response, without the hop-by-hop ones. */
export function setClientResponseHeaders(res: ServerResponse, headers: IncomingHttpHeaders): void {
  const listed = connectionTokens(headers);
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && isEndToEnd(name, listed)) res.setHeader(name, value);
  }
}
