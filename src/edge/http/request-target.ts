import type { Step } from '../pipeline.ts';
import { HttpProblem } from './problem.ts';

/**
 * Lets only request targets in one normal form reach routing, so the gateway, the services behind it and
 * anything in between read a path the same way (no path confusion: `/api/v1/products/../../internal/…`,
 * `%2F` smuggled slashes, `//` that one hop collapses and another does not):
 * - path: no dot segments (also percent-encoded), no empty segments, no encoded `/`, `\` or NUL, no raw
 *   backslash, valid percent-encoding → else 400 MALFORMED_PATH;
 * - query: valid percent-encoding, no control character once decoded, and each parameter at most once (the
 *   API has no multi-valued ones, and "first wins" against "last wins" is how parameter pollution works)
 *   → else 400 MALFORMED_QUERY.
 * Refused rather than rewritten: a client that sends these is buggy or probing, and a rewrite would be one
 * more interpretation to keep in line.
 */
const BAD_ESCAPE = /%(?![0-9a-f]{2})/i;
/** C0 controls and DEL: no path, parameter name or value of this API has a use for them (a NUL breaks SQLite). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f]/;
const SMUGGLED = /%2f|%5c|%00|\\/i;
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

export const normalTarget: Step = (req, _res, next) => next(targetProblem(req.url!) ?? undefined);

/** Why a request target (path and query) is refused, or null when it is in normal form. */
export function targetProblem(url: string): HttpProblem | null {
  const target = url.startsWith('/') ? url : originForm(url);
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const pathProblem = problemOfPath(path);
  if (pathProblem) return new HttpProblem(400, 'MALFORMED_PATH', `the path is not in normal form: ${pathProblem}`);
  const queryProblem = q === -1 ? null : problemOfQuery(target.slice(q + 1));
  return queryProblem ? new HttpProblem(400, 'MALFORMED_QUERY', queryProblem) : null;
}

function originForm(target: string): string {
  try {
    const url = new URL(target);
    return `${url.pathname}${url.search}`;
  } catch {
    return '/';
  }
}

function problemOfPath(path: string): string | null {
  return plain(path) ? null : problemOfUnusualPath(path);
}

/**
 * Whether the path is in normal form at a glance, in one pass without allocating (the usual case, on every
 * request): no `%` (so nothing encoded to look into), no backslash, no control character, no `//` and no `.` or
 * `..` segment. Anything else gets the full examination, which names the problem.
 */
function plain(path: string): boolean {
  if (path.charCodeAt(0) !== 47) return false;
  const end = path.length;
  for (let i = 0; i < end; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 || c === 92 || c < 32 || c === 127) return false; // % \ controls
    if (c !== 47) continue;
    // At a '/': the segment that starts after it.
    const next = path.charCodeAt(i + 1);
    if (next === 47) return false; // an empty segment inside the path
    if (next === 46) {
      // '.' or '..' up to the next '/' or the end
      const after = path.charCodeAt(i + 2) === 46 ? i + 3 : i + 2;
      if (after >= end || path.charCodeAt(after) === 47) return false;
    }
  }
  return true;
}

function problemOfUnusualPath(path: string): string | null {
  if (BAD_ESCAPE.test(path)) return 'invalid percent-encoding';
  if (SMUGGLED.test(path)) return 'an encoded slash, backslash or NUL';
  const segments = path.split('/').slice(1);
  // A trailing slash leaves one empty last segment, which routing ignores; an empty one inside does not.
  if (segments.slice(0, -1).some((s) => s === '')) return 'an empty segment (//)';
  if (segments.some((s) => DOT_SEGMENT.test(s))) return 'a dot segment (. or ..)';
  if (path.includes('%') ? CONTROL.test(decoded(path) ?? '') : CONTROL.test(path)) return 'a control character';
  return null;
}

function problemOfQuery(query: string): string | null {
  if (BAD_ESCAPE.test(query)) return 'the query is not valid percent-encoding';
  const seen = new Set<string>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const raw = pair.split('=', 1)[0]!;
    const name = decoded(raw.replaceAll('+', ' '));
    const value = decoded(pair.slice(raw.length + 1).replaceAll('+', ' '));
    if (name === null || value === null) return 'the query is not valid percent-encoding';
    if (CONTROL.test(name) || CONTROL.test(value)) return 'the query has a control character';
    if (seen.has(name)) return `the query parameter "${name.slice(0, 64)}" is repeated`;
    seen.add(name);
  }
  return null;
}

/** The percent-decoded text, or null when it is not valid percent-encoding of UTF-8. */
function decoded(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
