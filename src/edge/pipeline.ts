import type { IncomingMessage, ServerResponse } from 'node:http';

export type Next = (error?: unknown) => void;

/**
 * One step of the edge pipeline, on Node's own request and response (connect-style): it calls `next()` to
 * go on, `next(error)` to stop with a problem, or neither when it has answered the request itself.
 */
export type Step = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

/**
 * Runs the steps in order, then `done`. The first error (passed to `next` or thrown) goes to `fail` and ends
 * the run; a step that calls `next` twice is ignored the second time. Steps run inside whatever async
 * context the previous ones set up (the request id's log context, the trace context), and so does `done`.
 */
export function runSteps(
  steps: readonly Step[],
  req: IncomingMessage,
  res: ServerResponse,
  done: () => void,
  fail: (error: unknown) => void,
): void {
  let index = 0;
  let finished = false;
  const advance = (error?: unknown): void => {
    if (finished) return;
    if (error !== undefined) {
      finished = true;
      return fail(error);
    }
    const step = steps[index++];
    if (!step) {
      finished = true;
      try {
        return done();
      } catch (thrown) {
        return fail(thrown);
      }
    }
    let called = false;
    const next: Next = (stepError) => {
      if (called) return;
      called = true;
      advance(stepError);
    };
    try {
      step(req, res, next);
    } catch (thrown) {
      next(thrown);
    }
  };
  advance();
}
