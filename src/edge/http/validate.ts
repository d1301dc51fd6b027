import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { isUuid } from '../../shared/id.ts';
import { NoQuery, PathId } from './common-schemas.ts';
import { HttpProblem } from './problem.ts';

/** Parses untrusted input with a schema; a mismatch is a 400 listing every problem by its path. */
export function parse<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'body' | 'query' | 'path' | 'header',
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({
    pointer: `/${[where, ...issue.path.map(String)].join('/')}`,
    detail: issue.message,
  }));
  const summary = errors.map((e) => `${e.pointer}: ${e.detail}`).join('; ');
  throw new HttpProblem(400, 'VALIDATION_FAILED', `invalid ${where}: ${summary}`, { errors });
}

/**
 * For routes that take no query parameter: refuses any (as `parse(NoQuery, req.query, 'query')`, the same
 * 400), and spends nothing on a request without a query string, the usual case.
 */
export function refuseQuery(req: IncomingMessage & { query?: unknown }): void {
  if (req.url!.includes('?')) parse(NoQuery, req.query, 'query');
}

/**
 * The `:id` of a route whose one path parameter is the id: `parse(PathId, req.params, 'path').id`, a UUID in
 * lower case. A well-formed id (the usual case) is told by the same test the schema makes, without a pass
 * through zod; anything else goes to the schema, which refuses it with the same 400.
 */
export function pathId(req: { params: Record<string, unknown> }): string {
  const id = req.params.id;
  return typeof id === 'string' && isUuid(id) ? id.toLowerCase() : parse(PathId, req.params, 'path').id;
}
