import type { z } from 'zod';
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
