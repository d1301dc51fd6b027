import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestScope } from '../../adapters/logging/request-scope.ts';
import { type Span, startSpan } from '../../adapters/tracing/spans.ts';
import { childTraceparent, parseTraceparent } from '../../adapters/tracing/traceparent.ts';
import type { Step } from '../pipeline.ts';
import { routeTemplate } from './metrics.ts';

export { childTraceparent, currentTraceparent, parseTraceparent } from '../../adapters/tracing/traceparent.ts';

/**
 * Keeps the caller's traceparent (or starts a trace) for the rest of the request, so outgoing calls made while
 * handling it (e.g. the HTTP product catalog, the gateway's forwarded request) continue the same trace. It
 * goes into the request scope the request id step opened, so log lines carry it too. When spans are
 * recorded, the request is a server span under the caller's, and the scope carries that span instead.
 */
export const continueTrace: Step = (req, res, next) => {
  const given = req.headers.traceparent;
  const caller = typeof given === 'string' && parseTraceparent(given) !== null ? given.trim() : undefined;
  const span = startSpan(req.method!, 'server', undefined, caller);
  if (span !== undefined) res.once('close', () => endServerSpan(span, req, res));
  const traceparent = span?.traceparent ?? caller ?? childTraceparent();
  const scope = requestScope.getStore();
  if (scope) {
    scope.traceparent = traceparent;
    return next();
  }
  requestScope.run({ traceparent }, next);
};

const CLIENT_GONE = { code: 'CLIENT_GONE' };

/** Named by its route template once routed (never the raw path: ids would make every name unique). */
function endServerSpan(span: Span, req: IncomingMessage, res: ServerResponse): void {
  const route = routeTemplate(req);
  const status = res.writableFinished ? res.statusCode : undefined;
  span.updateName(`${req.method} ${route}`);
  span.setAttributes({
    'http.request.method': req.method,
    'http.route': route,
    'url.path': req.url?.split('?')[0],
    'http.response.status_code': status,
    'hexashop.correlation_id': req.id,
  });
  span.end(status === undefined ? CLIENT_GONE : status >= 500 ? { code: `HTTP_${status}` } : undefined);
}
