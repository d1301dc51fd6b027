import type { RequestHandler } from 'express';
import client from 'prom-client';

/** One registry per process role, with the HTTP RED metrics labelled by route template (never raw paths). */
export class HttpMetrics {
  readonly registry = new client.Registry();
  readonly #requests: client.Counter<'method' | 'route' | 'status'>;
  readonly #duration: client.Histogram<'method' | 'route' | 'status'>;

  constructor(role: string) {
    this.registry.setDefaultLabels({ role });
    client.collectDefaultMetrics({ register: this.registry });
    this.#requests = new client.Counter({
      name: 'http_requests_total',
      help: 'HTTP requests served',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.#duration = new client.Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
  }

  middleware(): RequestHandler {
    return (req, res, next) => {
      const end = this.#duration.startTimer();
      // The matched route's template (e.g. /api/v1/orders/:id); unmatched paths share one label. It is taken
      // when the route matches: once an error leaves a router, Express has reset req.baseUrl to the parent's.
      let route = 'unmatched';
      let matched: unknown;
      Object.defineProperty(req, 'route', {
        configurable: true,
        enumerable: true,
        get: () => matched,
        set: (value: { path?: unknown } | undefined) => {
          matched = value;
          if (value) route = value.path === '/' && req.baseUrl ? req.baseUrl : `${req.baseUrl}${String(value.path)}`;
        },
      });
      res.on('finish', () => {
        const labels = { method: req.method, route, status: String(res.statusCode) };
        this.#requests.inc(labels);
        end(labels);
      });
      next();
    };
  }

  handler(): RequestHandler {
    return async (_req, res) => {
      res.type(this.registry.contentType).send(await this.registry.metrics());
    };
  }
}
