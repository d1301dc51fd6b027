import { expect } from 'chai';
import client from 'prom-client';
import { MemoryCache } from '../../../src/adapters/cache/memory/memory-cache.ts';
import { TieredCache } from '../../../src/adapters/cache/tiered-cache.ts';
import { MeteredCache } from '../../../src/adapters/cache/metered-cache.ts';
import { InProcessEventBus } from '../../../src/adapters/messaging/in-process/in-process-event-bus.ts';
import { OutboxRelay, type OutboxRecord, type OutboxStore } from '../../../src/adapters/messaging/outbox-relay.ts';
import {
  cacheLookupCounter,
  deadLetterCounter,
  relayMetrics,
  watchOutboxBacklog,
} from '../../../src/adapters/metrics/prometheus-reliability-metrics.ts';
import { systemClock } from '../../../src/shared/clock.ts';
import { silentLogger } from '../../../src/shared/logger.port.ts';
import type { EventBus } from '../../../src/shared/messaging/event-bus.port.ts';
import { makeEvent } from '../../../src/shared/messaging/make-event.ts';

const event = () => makeEvent('test', systemClock, 'corr-1', { type: 'Tested', aggregateId: 'a-1', payload: {} });

async function valueOf(registry: client.Registry, name: string, labels: Record<string, string> = {}) {
  const metric = await registry.getSingleMetric(name)?.get();
  const sample = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return sample?.value;
}

/** A store that hands out what it holds once per claim, and forgets what was published. */
function storeOf(records: OutboxRecord[]): OutboxStore {
  return {
    async withClaim(limit, publish) {
      const batch = records.slice(0, limit);
      if (batch.length === 0) return 0;
      const done = new Set(await publish(batch));
      records.splice(0, records.length, ...records.filter((r) => !done.has(r.seq)));
      return batch.length;
    },
    async release() {},
  };
}

const busThat = (publish: EventBus['publish']): EventBus => ({
  publish,
  subscribe() {},
  async start() {},
  async stop() {},
  problem: () => null,
  lag: async () => [],
});

describe('reliability metrics', () => {
  it('counts parked events by topic and group, a per-instance group under its name', async () => {
    const registry = new client.Registry();
    const bus = new InProcessEventBus(silentLogger, {
      retry: { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1 },
      onDeadLetter: deadLetterCounter(registry),
    });
    bus.subscribe({
      topic: 'product-events',
      group: 'product-cache-monolith-0a1b2c3d',
      handler: async () => {
        throw new Error('boom');
      },
    });
    await bus.start();
    await bus.publish('product-events', [event(), event()]);
    await bus.stop();
    expect(
      await valueOf(registry, 'events_dead_lettered_total', { topic: 'product-events', group: 'product-cache' }),
    ).to.equal(2);
  });

  it("counts the relay's published events and failed batches by database", async () => {
    const registry = new client.Registry();
    const records = [1, 2, 3].map((seq) => ({ seq, topic: 'order-events', event: event() }));
    const options = { batchSize: 10, pollIntervalMs: 5, errorBackoffMs: 5, lingerMs: 1 };
    const ok = new OutboxRelay(
      storeOf(records),
      busThat(async () => {}),
      silentLogger,
      {
        ...options,
        observer: relayMetrics(registry, 'order'),
      },
    );
    await ok.drain();
    expect(await valueOf(registry, 'relay_published_events_total', { database: 'order' })).to.equal(3);

    const failing = new OutboxRelay(
      storeOf([{ seq: 9, topic: 'product-events', event: event() }]),
      busThat(async () => {
        throw new Error('broker down');
      }),
      silentLogger,
      { ...options, observer: relayMetrics(registry, 'product') },
    );
    failing.start();
    await new Promise((r) => setTimeout(r, 30));
    await failing.stop();
    expect(await valueOf(registry, 'relay_failures_total', { database: 'product' })).to.be.at.least(1);
    expect(await valueOf(registry, 'relay_published_events_total', { database: 'product' })).to.equal(0);
  });

  it('reads the outbox backlog of every database at scrape time', async () => {
    const registry = new client.Registry();
    let pending = 4;
    watchOutboxBacklog(registry, 'order', async () => ({ pending, oldestDueAt: new Date(Date.now() - 10_000) }));
    watchOutboxBacklog(registry, 'product', async () => ({ pending: 0, oldestDueAt: null }));
    const text = await registry.metrics();
    expect(text).to.contain('outbox_pending_events{database="order"} 4');
    expect(text).to.contain('outbox_pending_events{database="product"} 0');
    expect(text).to.match(/outbox_oldest_pending_age_seconds\{database="order"\} (9|10|11)(\.\d+)?\n/);
    expect(text).to.contain('outbox_oldest_pending_age_seconds{database="product"} 0');
    pending = 0;
    await new Promise((r) => setTimeout(r, 600));
    expect(await registry.metrics()).to.contain('outbox_pending_events{database="order"} 0');
  });

  it('counts cache hits and misses by tier: a local miss looks in Redis, and a Redis hit fills the local tier', async () => {
    const registry = new client.Registry();
    const local = new MeteredCache(new MemoryCache({ maxTtlMs: 1_000 }), cacheLookupCounter(registry, 'local'));
    const far = new MemoryCache();
    const cache = new TieredCache(local, new MeteredCache(far, cacheLookupCounter(registry, 'redis')));
    await cache.getText('k');
    await far.setText('k', 'v', 60);
    await cache.getText('k');
    await cache.getText('k');
    await cache.get('other');
    const count = (tier: string, result: string) => valueOf(registry, 'cache_requests_total', { tier, result });
    expect(await count('local', 'hit')).to.equal(1);
    expect(await count('local', 'miss')).to.equal(3);
    expect(await count('redis', 'hit')).to.equal(1);
    expect(await count('redis', 'miss')).to.equal(2);
  });
});
