import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import client from 'prom-client';
import type { Step } from '../pipeline.ts';

type Label = 'method' | 'route' | 'status';

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

  /**
   * Records the request once its answer has gone out, under `route()` read
   * then. The labelled series are looked up once per label set, not hashed on every request.
   */
  track(res: ServerResponse, method: string, route: () => string): void {
    const started = performance.now();
    res.once('finish', () => this.#observe(method, route(), res.statusCode, (performance.now() - started) / 1000));
  }

  readonly #series = new Map<string, { count: client.Counter.Internal; latency: client.Histogram.Internal<Label> }>();

  #observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let series = this.#series.get(key);
    if (!series) {
      const labels = { method, route, status: String(status) };
      series = { count: this.#requests.labels(labels), latency: this.#duration.labels(labels) };
      this.#series.set(key, series);
    }
    series.count.inc();
    series.latency.observe(seconds);
  }

  /** The edge step for requests whose route is known before any router sees them (the gateway's proxied ones). */
  stepLabelled(route: string): Step {
    return (req, res, next) => {
      this.track(res, req.method!, () => route);
      next();
    };
  }

  /**
   * The edge step: records every request once answered, under the template of the Express route that
   * matched it (e.g. /api/v1/orders/:id), or `unmatched`: never a raw path.
   */
  step(): Step {
    return (req, res, next) => {
      // The template of the Express route that matched, taken when it matches: once an error leaves a
      // router, Express has reset req.baseUrl to the parent's.
      let route = 'unmatched';
      let matched: unknown;
      const express = req as IncomingMessage & { baseUrl?: string };
      Object.defineProperty(req, 'route', {
        configurable: true,
        enumerable: true,
        get: () => matched,
        set: (value: { path?: unknown } | undefined) => {
          matched = value;
          const base = express.baseUrl ?? '';
          if (value) route = value.path === '/' && base ? base : `${base}${String(value.path)}`;
        },
      });
      this.track(res, req.method!, () => route);
      next();
    };
  }

  handler(): RequestHandler {
    return async (_req, res) => {
      res.type(this.registry.contentType).send(await this.registry.metrics());
    };
  }
}
