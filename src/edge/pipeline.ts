import type { IncomingMessage, ServerResponse } from 'node:http';

export type Next = (error?: unknown) => void;

/**
 * One step of the edge pipeline, on Node's own request and response (connect-style): it calls `next()` to
 * go on, `next(error)` to stop with a problem, or neither when it has answered the request itself.
 */
export type Step = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

/**
 * Runs the steps in order, then `done`. The first error (passed to `next` or thrown) goes to `fail` and ends
 * the run. Steps run inside whatever async context the previous ones set up (the request scope, the trace
 * context), and so does `done`. One `next` per request, and `done` and `fail` are handed the request and
 * response, so they need not be closures made per request: every request runs through here.
 */
export function runSteps(
  steps: readonly Step[],
  req: IncomingMessage,
  res: ServerResponse,
  done: (req: IncomingMessage, res: ServerResponse) => void,
  fail: (error: unknown, req: IncomingMessage, res: ServerResponse) => void,
): void {
  let index = 0;
  let finished = false;
  const next: Next = (error) => {
    if (finished) return;
    if (error !== undefined) {
      finished = true;
      return fail(error, req, res);
    }
    const step = steps[index++];
    if (!step) finished = true;
    try {
      if (step) step(req, res, next);
      else done(req, res);
    } catch (thrown) {
      // A step that threw before handing on, or the dispatcher: answered as a problem. A step that threw
      // after handing on is too late to answer for: what came after it answers the request.
      if (!step || !finished) {
        finished = true;
        fail(thrown, req, res);
      }
    }
  };
  next();
}
