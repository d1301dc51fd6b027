import client from 'prom-client';
import type { ConsumerLag } from '../../shared/messaging/event-bus.port.ts';
import type { RelayObserver } from '../messaging/outbox-relay.ts';
import { counterIn } from './metric-registry.ts';

/** What the outbox of one module database has yet to publish, read at scrape time. */
export type OutboxBacklogProbe = () => Promise<{ pending: number; oldestDueAt: Date | null }>;

const backlogProbes = new WeakMap<client.Registry, Map<string, OutboxBacklogProbe>>();

/**
 * `outbox_pending_events` and `outbox_oldest_pending_age_seconds`, labelled by database: computed when
 * Prometheus scrapes (one indexed read per database), never polled. A database that cannot be read
 * leaves its series out of that scrape rather than failing it (its readiness check says why).
 */
export function watchOutboxBacklog(registry: client.Registry, database: string, probe: OutboxBacklogProbe): void {
  let probes = backlogProbes.get(registry);
  if (!probes) {
    probes = new Map();
    backlogProbes.set(registry, probes);
    const read = backlogReader(probes);
    new client.Gauge({
      name: 'outbox_pending_events',
      help: 'Outbox events due and not yet published',
      labelNames: ['database'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const [name, backlog] of await read()) this.set({ database: name }, backlog.pending);
      },
    });
    new client.Gauge({
      name: 'outbox_oldest_pending_age_seconds',
      help: 'Age of the oldest due, unpublished outbox event (0 when none is pending)',
      labelNames: ['database'],
      registers: [registry],
      async collect() {
        this.reset();
        const now = Date.now();
        for (const [name, { oldestDueAt }] of await read()) {
          this.set({ database: name }, oldestDueAt ? Math.max(0, (now - oldestDueAt.getTime()) / 1000) : 0);
        }
      },
    });
  }
  probes.set(database, probe);
}

type Backlog = Awaited<ReturnType<OutboxBacklogProbe>>;

/** One read per database per scrape, shared by both gauges (a scrape collects them at once). */
function backlogReader(probes: Map<string, OutboxBacklogProbe>): () => Promise<[string, Backlog][]> {
  let last: { at: number; reading: Promise<[string, Backlog][]> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at > 500) {
      const reading = Promise.all(
        [...probes].map(async ([name, probe]) => [name, await probe().catch(() => null)] as const),
      ).then((all) => all.filter((entry): entry is [string, Backlog] => entry[1] !== null));
      last = { at: now, reading };
    }
    return last.reading;
  };
}

/** The relay's observer for one database: events it published and batches the bus refused. */
export function relayMetrics(registry: client.Registry, database: string): RelayObserver {
  const published = counterIn(registry, {
    name: 'relay_published_events_total',
    help: 'Outbox events the relay published to the bus',
    labelNames: ['database'],
  });
  const failures = counterIn(registry, {
    name: 'relay_failures_total',
    help: 'Relay batches that failed (the bus or the database refused); retried after a back-off',
    labelNames: ['database'],
  });
  published.inc({ database }, 0);
  failures.inc({ database }, 0);
  return {
    published: (count) => published.inc({ database }, count),
    failed: () => failures.inc({ database }),
  };
}

/**
 * Counts events parked on a dead-letter topic. A per-instance group (`<name>-<role>-<8 hex>`, as the cache
 * invalidation's) is counted under its name alone, so instances do not mint label values.
 */
export function deadLetterCounter(registry: client.Registry): (topic: string, group: string) => void {
  const parked = counterIn(registry, {
    name: 'events_dead_lettered_total',
    help: 'Events parked on a dead-letter topic after their handler kept failing',
    labelNames: ['topic', 'group'],
  });
  return (topic, group) => parked.inc({ topic, group: groupName(group) });
}

/**
 * `consumer_lag_messages{group,topic,partition}`: read from the bus when Prometheus scrapes (at most once a
 * second; on Kafka an admin round trip). Per-instance groups are named as the dead-letter counter names them.
 */
export function watchConsumerLag(registry: client.Registry, lag: () => Promise<ConsumerLag[]>): void {
  let last: { at: number; reading: Promise<ConsumerLag[]> } | undefined;
  const read = () => {
    if (!last || Date.now() - last.at > 1_000) last = { at: Date.now(), reading: lag().catch(() => []) };
    return last.reading;
  };
  new client.Gauge({
    name: 'consumer_lag_messages',
    help: 'Events a consumer group has yet to handle, per partition (Kafka: beyond its committed offset)',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { group, topic, partition, messages } of await read()) {
        this.set({ group: groupName(group), topic, partition: String(partition) }, messages);
      }
    },
  });
}

/** A per-instance group (`<name>-<role>-<8 hex>`) under its name alone, so instances do not mint label values. */
export const groupName = (group: string) => group.replace(/-[a-z]+-[0-9a-f]{8}$/, '');

/**
 * `products_low_stock`: how many products have `threshold` or fewer in stock, counted in the product
 * database when Prometheus scrapes (at most once every 5 s). A database that cannot be read leaves the
 * series out of that scrape.
 */
export function watchLowStock(registry: client.Registry, count: () => Promise<number>): void {
  let last: { at: number; reading: Promise<number | null> } | undefined;
  new client.Gauge({
    name: 'products_low_stock',
    help: `Products with ${LOW_STOCK_THRESHOLD} or fewer in stock`,
    registers: [registry],
    async collect() {
      if (!last || Date.now() - last.at > 5_000) last = { at: Date.now(), reading: count().catch(() => null) };
      const products = await last.reading;
      this.reset();
      if (products !== null) this.set(products);
    },
  });
}

/**
 * `redis_up`: 1 while this process's Redis connection is ready, 0 while it is down or reconnecting (the
 * cache and the rate limits fall back meanwhile, so nothing else shows it). Read at scrape, no round trip.
 */
export function watchRedis(registry: client.Registry, ready: () => boolean): void {
  new client.Gauge({
    name: 'redis_up',
    help: "1 while the process's Redis connection is ready, else 0 (the cache and rate limits fall back)",
    registers: [registry],
    collect() {
      this.set(ready() ? 1 : 0);
    },
  });
}

/** What "low" means for `products_low_stock`. */
export const LOW_STOCK_THRESHOLD = 10;

/**
 * Counts look-ups in one tier of the cache, hit or miss (an unreachable cache reads as a miss): `local` (in
 * process) or `redis`. With both, a read the local tier misses is looked up in Redis, so it counts in each.
 */
export function cacheLookupCounter(registry: client.Registry, tier: 'local' | 'redis'): (hit: boolean) => void {
  const requests = counterIn(registry, {
    name: 'cache_requests_total',
    help: 'Cache look-ups, by tier (local: in process; redis) and result',
    labelNames: ['tier', 'result'],
  });
  const hits = requests.labels({ tier, result: 'hit' });
  const misses = requests.labels({ tier, result: 'miss' });
  hits.inc(0);
  misses.inc(0);
  return (hit) => (hit ? hits.inc() : misses.inc());
}

/** Counts requests the rate limits refused, by policy. */
export function rateLimitRefusalCounter(registry: client.Registry): (policy: 'read' | 'write') => void {
  const refusals = counterIn(registry, {
    name: 'rate_limit_refusals_total',
    help: 'Requests refused by the rate limits (429), by policy',
    labelNames: ['policy'],
  });
  refusals.inc({ policy: 'read' }, 0);
  refusals.inc({ policy: 'write' }, 0);
  return (policy) => refusals.inc({ policy });
}

/**
 * A database's read replicas: `replica_reads_total{database,outcome}` (outcome `replica`, `waited` for a read
 * that waited for its own write, `primary_fallback` when the replica had not reached it in time, `replica_down`
 * when none could serve it) and `replica_lag_seconds{database}`, the staleness of the replica furthest behind,
 * sampled when Prometheus scrapes (at most once a second; left out while no replica answers).
 */
export function replicaMetrics(
  registry: client.Registry,
  database: string,
  lagSeconds: () => Promise<number | null>,
): (outcome: 'replica' | 'waited' | 'primary_fallback' | 'replica_down') => void {
  const reads = counterIn(registry, {
    name: 'replica_reads_total',
    help: 'Reads a read replica could take, by who served them: the replica (waited: after waiting for a write) or the primary',
    labelNames: ['database', 'outcome'],
  });
  for (const outcome of ['replica', 'waited', 'primary_fallback', 'replica_down']) reads.inc({ database, outcome }, 0);
  let last: { at: number; reading: Promise<number | null> } | undefined;
  lagSamplersOf(registry).set(database, () => {
    if (!last || Date.now() - last.at > 1_000) last = { at: Date.now(), reading: lagSeconds().catch(() => null) };
    return last.reading;
  });
  return (outcome) => reads.inc({ database, outcome });
}

const lagSamplers = new WeakMap<client.Registry, Map<string, () => Promise<number | null>>>();

/** One `replica_lag_seconds` gauge per registry, sampling every database that has replicas. */
function lagSamplersOf(registry: client.Registry): Map<string, () => Promise<number | null>> {
  let samplers = lagSamplers.get(registry);
  if (!samplers) {
    const all = new Map<string, () => Promise<number | null>>();
    lagSamplers.set(registry, (samplers = all));
    new client.Gauge({
      name: 'replica_lag_seconds',
      help: 'How stale the read replica furthest behind is: age of the oldest primary transaction it has not applied',
      labelNames: ['database'],
      registers: [registry],
      async collect() {
        const readings = await Promise.all(
          [...all].map(async ([database, sample]) => [database, await sample()] as const),
        );
        this.reset();
        for (const [database, seconds] of readings) if (seconds !== null) this.set({ database }, seconds);
      },
    });
  }
  return samplers;
}
