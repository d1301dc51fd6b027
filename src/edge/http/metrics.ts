import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import client from 'prom-client';
import type { Step } from '../pipeline.ts';

type Label = 'method' | 'route' | 'status';

declare module 'node:http' {
  interface IncomingMessage {
    /** performance.now() when the metrics step saw the request. */
    arrivedAt?: number;
    /** The route template of a request routed before any router sees it (the gateway's proxied routes). */
    routeLabel?: string;
    /**
     * Where the module router that serves the request is mounted (e.g. /api/v1/orders), as configured: set by
     * the edge once it has matched the mount. The metrics label starts with it: Express's `req.baseUrl` is
     * reset once an error has left the module's router, and keeps whatever case the client wrote.
     */
    mountPath?: string;
  }
}

/** Express's matched route (set on the request when one matches, and kept after the router has left). */
type Routed = IncomingMessage & { route?: { path?: unknown } };

const labels = new WeakMap<object, Map<string, string>>();

/** The request's route template: the proxied route's, or its mount and Express's matched route, or `unmatched`. */
export function routeTemplate(req: IncomingMessage): string {
  return labelOf(req);
}

function labelOf(req: Routed): string {
  if (req.routeLabel !== undefined) return req.routeLabel;
  const route = req.route;
  if (!route) return 'unmatched';
  const base = req.mountPath ?? '';
  // Templated once per route and mount: the route objects live as long as the app.
  let byBase = labels.get(route);
  if (!byBase) labels.set(route, (byBase = new Map()));
  let label = byBase.get(base);
  if (label === undefined) {
    label = route.path === '/' && base ? base : `${base}${String(route.path)}`;
    byBase.set(base, label);
  }
  return label;
}

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

  /** The edge step for requests whose route is known before any router sees them (the gateway's proxied ones). */
  stepLabelled(route: string): Step {
    return (req, res, next) => {
      req.routeLabel = route;
      this.#track(req, res);
      next();
    };
  }

  /**
   * The edge step: records every request once answered, under its route template: the Express route that
   * matched it, after the module's mount (e.g. /api/v1/orders/:id), or `unmatched`: never a raw path.
   */
  step(): Step {
    return (req, res, next) => {
      this.#track(req, res);
      next();
    };
  }

  /**
   * Starts the clock; one listener shared by every response (no closure per request), and the label is read
   * once answered, from what Express left on the request (an accessor on each request, to catch the route as
   * Express set it, cost more than the rest of the edge together).
   */
  #track(req: IncomingMessage, res: ServerResponse): void {
    req.arrivedAt = performance.now();
    res.on('finish', this.#finished);
  }

  /** The 'finish' listener of every response: a plain function, called with the response as `this`. */
  readonly #finished = ((metrics: HttpMetrics) =>
    function finished(this: ServerResponse): void {
      const req = this.req;
      metrics.#observe(req.method!, labelOf(req), this.statusCode, (performance.now() - req.arrivedAt!) / 1000);
    })(this);

  readonly #series = new Map<string, { count: client.Counter.Internal; latency: client.Histogram.Internal<Label> }>();

  /** The labelled series are looked up once per label set, not hashed on every request. */
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

  handler(): RequestHandler {
    return async (_req, res) => {
      res.type(this.registry.contentType).send(await this.registry.metrics());
    };
  }
}
