import { requestScope } from '../../adapters/logging/request-scope.ts';
import { childTraceparent, parseTraceparent } from '../../adapters/tracing/traceparent.ts';
import type { Step } from '../pipeline.ts';

export { childTraceparent, currentTraceparent, parseTraceparent } from '../../adapters/tracing/traceparent.ts';

/**
 * Keeps the caller's traceparent (or starts a trace) for the rest of the request, so outgoing calls made while
 * handling it (e.g. the HTTP product catalog, the gateway's forwarded request) continue the same trace. It
 * goes into the request scope the request id step opened, so log lines carry it too.
 */
export const continueTrace: Step = (req, _res, next) => {
  const given = req.headers.traceparent;
  const traceparent = typeof given === 'string' && parseTraceparent(given) !== null ? given.trim() : childTraceparent();
  const scope = requestScope.getStore();
  if (scope) {
    scope.traceparent = traceparent;
    return next();
  }
  requestScope.run({ traceparent }, next);
};
