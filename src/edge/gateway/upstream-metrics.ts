import client from 'prom-client';
import { OUTCOMES, type UpstreamInstance } from './upstream-instance.ts';
import type { UpstreamPool } from './upstream-pool.ts';

/**
 * The upstream pools as Prometheus metrics, on the registry the role's /metrics serves. Every value is read
 * from the instances when scraped, so the proxy's hot path does no metric bookkeeping of its own.
 */
const BREAKER_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;

type Labels = { service: string; instance: string };

export function registerUpstreamMetrics(registry: client.Registry, pools: readonly UpstreamPool[]): void {
  const each = (read: (labels: Labels, instance: UpstreamInstance) => void) => {
    for (const pool of pools) {
      for (const instance of pool.instances) read({ service: pool.service, instance: instance.url }, instance);
    }
  };
  const registers = [registry];
  const labelNames = ['service', 'instance'] as const;

  new client.Gauge({
    name: 'gateway_upstream_healthy',
    help: '1 when the instance is healthy (active checks pass, not ejected), else 0',
    labelNames,
    registers,
    collect() {
      each((labels, i) => this.set(labels, i.health === 'healthy' ? 1 : 0));
    },
  });
  new client.Gauge({
    name: 'gateway_upstream_available',
    help: '1 when the instance is in the rotation (healthy and its circuit breaker not open), else 0',
    labelNames,
    registers,
    collect() {
      each((labels, i) => this.set(labels, i.available ? 1 : 0));
    },
  });
  new client.Gauge({
    name: 'gateway_upstream_breaker_state',
    help: 'circuit breaker state of the instance: 0 closed, 1 half-open, 2 open',
    labelNames,
    registers,
    collect() {
      each((labels, i) => this.set(labels, BREAKER_STATE[i.breakerState]));
    },
  });
  new client.Gauge({
    name: 'gateway_upstream_in_flight',
    help: 'requests to the instance in progress',
    labelNames,
    registers,
    collect() {
      each((labels, i) => this.set(labels, i.inFlight));
    },
  });
  new client.Counter({
    name: 'gateway_upstream_requests_total',
    help: 'attempts on the instance by outcome (success, server_error, error, timeout, rejected by the breaker, cancelled by the client)',
    labelNames: ['service', 'instance', 'outcome'],
    registers,
    collect() {
      // The instances keep the totals; the counter is set to them on each scrape.
      this.reset();
      each((labels, i) => {
        for (const outcome of OUTCOMES) this.inc({ ...labels, outcome }, i.outcomes[outcome]);
      });
    },
  });
  new client.Counter({
    name: 'gateway_upstream_retries_total',
    help: 'attempts that failed on the instance and were retried on another',
    labelNames,
    registers,
    collect() {
      this.reset();
      each((labels, i) => this.inc(labels, i.snapshot().counts.retries));
    },
  });
  new client.Counter({
    name: 'gateway_upstream_ejections_total',
    help: 'times the instance was ejected after failed requests',
    labelNames,
    registers,
    collect() {
      this.reset();
      each((labels, i) => this.inc(labels, i.snapshot().counts.ejections));
    },
  });
}
