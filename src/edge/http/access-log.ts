import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestScope } from '../../adapters/logging/request-scope.ts';
import type { Logger } from '../../shared/logger.port.ts';
import type { Step } from '../pipeline.ts';
import { routeTemplate } from './metrics.ts';
import { clientAddress } from './rate-limit.ts';

/**
 * One `http`-level line per request once it is answered (or its client has gone): method, path, route
 * template, status, duration, client address, principal; the request's scope (request id, correlation id,
 * traceparent) as every line has it. The edge only adds this step when the log level lets such lines
 * through (`--log-level http` or `debug`), so at the default `info` it costs nothing at all.
 */
export function accessLogStep(logger: Logger, trustProxyHops: number): Step {
  const addressOf = clientAddress(trustProxyHops);
  return (req, res, next) => {
    const scope = requestScope.getStore();
    const started = performance.now();
    // 'close' comes from the socket's context, not the request's: the line is written back in its scope.
    res.once('close', () => requestScope.run(scope ?? {}, () => logger.http('request', entry(req, res, started))));
    next();
  };

  function entry(req: IncomingMessage, res: ServerResponse, started: number): Record<string, unknown> {
    const answered = res.writableFinished;
    return {
      method: req.method,
      path: req.url?.split('?')[0],
      route: routeTemplate(req),
      status: answered ? res.statusCode : null,
      ...(answered ? {} : { clientGone: true }),
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      client: addressOf(req),
      principal: req.principal?.id ?? null,
    };
  }
}
