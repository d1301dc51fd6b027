import { expect } from 'chai';
import { MemoryStore, type ClientRateLimitInfo, type Options } from 'express-rate-limit';
import { Redis } from 'ioredis';
import { connectRedis } from '../../src/adapters/cache/redis/redis-client.ts';
import { RedisSyncedStore, type RedisSyncedStoreOptions } from '../../src/edge/http/redis-synced-store.ts';
import { newId } from '../../src/shared/id.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { eventually } from '../support/http.ts';
import { recordingLogger, uniqueRedisPrefix } from '../support/roles.ts';
import { integrationServices } from '../support/services.ts';
import { tcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { describeRateLimitStoreContract } from './rate-limit-store.contract.ts';

describeRateLimitStoreContract('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, dispose: async () => store.shutdown() };
});

describeRateLimitStoreContract('RedisSyncedStore', async () => {
  const { redisUrl } = await integrationServices();
  const redis = await connectRedis(redisUrl, silentLogger);
  const store = new RedisSyncedStore({ redis, prefix: uniqueRedisPrefix(), logger: silentLogger, syncMs: 50 });
  const dispose = async () => {
    await store.shutdown();
    await dropKeys(redis, store.prefix);
    redis.disconnect();
  };
  return { store, dispose };
});

async function dropKeys(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
}

const LIMIT = 10;
/** The most two instances can let through beyond the limit: ⌈LIMIT/2⌉ − 1, the other one's unflushed hits. */
const EXCESS = Math.ceil(LIMIT / 2) - 1;
const allowed = (answers: ClientRateLimitInfo[]) => answers.filter((a) => a.totalHits <= LIMIT).length;

describe('RedisSyncedStore', function () {
  this.timeout(20_000);
  let redisUrl: string;
  let redis: Redis;
  let prefix: string;
  const stores: RedisSyncedStore[] = [];
  const count = async (key: string) => Number(await redis.get(prefix + key));
  /** A gateway instance's store on its own connection, as every role has one. */
  const gateway = async (options: Partial<RedisSyncedStoreOptions> = {}, url = redisUrl) => {
    const store = new RedisSyncedStore({
      redis: await connectRedis(url, silentLogger),
      prefix,
      logger: silentLogger,
      ...options,
    });
    store.init({ windowMs: 60_000, limit: LIMIT } as Options);
    stores.push(store);
    return store;
  };

  before(async () => {
    ({ redisUrl } = await integrationServices());
    redis = await connectRedis(redisUrl, silentLogger);
  });
  beforeEach(() => {
    prefix = uniqueRedisPrefix();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.shutdown()));
    await dropKeys(redis, prefix);
  });
  after(() => redis?.disconnect());

  it('answers below half the limit without Redis, and from half on with Redis’s exact total', async () => {
    const store = await gateway({ syncMs: 60_000 });
    const key = `k-${newId()}`;
    for (let i = 1; i < LIMIT / 2; i++) expect((await store.increment(key)).totalHits).to.equal(i);
    expect(await redis.exists(prefix + key)).to.equal(0);
    await redis.incrby(prefix + key, 2); // another instance's flushed hits
    expect((await store.increment(key)).totalHits).to.equal(LIMIT / 2 + 2);
    expect(await count(key)).to.equal(LIMIT / 2 + 2);
    const { resetTime } = await store.increment(key);
    const ttl = await redis.pttl(prefix + key);
    expect(Math.abs(resetTime!.getTime() - (Date.now() + ttl))).to.be.below(50); // Redis's window
  });

  it('sends pending hits to Redis within a few sync periods, in one window with its expiry', async () => {
    const store = await gateway({ syncMs: 50 });
    const [a, b] = [`a-${newId()}`, `b-${newId()}`];
    await store.increment(a);
    await store.increment(a);
    await store.increment(b);
    await eventually(async () => ((await count(a)) === 2 && (await count(b)) === 1) || undefined, 2_000, 'a flush');
    expect(await redis.pttl(prefix + a)).to.be.within(59_000, 60_000);
  });

  it('lets through at most ⌈L/2⌉ − 1 more than the limit over two instances, with hits concurrent', async () => {
    const pair = [await gateway(), await gateway()];
    const key = `c-${newId()}`;
    const answers = await Promise.all(Array.from({ length: 3 * LIMIT }, (_, i) => pair[i % 2]!.increment(key)));
    // A store that did not share would let 2 × LIMIT through.
    expect(allowed(answers)).to.be.within(LIMIT, LIMIT + EXCESS);
    await eventually(async () => (await count(key)) === 3 * LIMIT || undefined, 2_000, 'every hit in Redis');
  });

  it('exceeds the limit only by hits another instance has not flushed, and shares them from its flush on', async () => {
    const [a, b] = [await gateway({ syncMs: 300 }), await gateway({ syncMs: 300 })];
    const key = `x-${newId()}`;
    const fromB = [];
    for (let i = 0; i < EXCESS; i++) fromB.push((await b.increment(key)).totalHits);
    expect(fromB).to.deep.equal([1, 2, 3, 4]); // below half: answered by b alone
    const fromA = [];
    for (let i = 0; i <= LIMIT; i++) fromA.push((await a.increment(key)).totalHits);
    expect(fromA).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]); // Redis's totals, without b's 4
    await eventually(async () => (await count(key)) === LIMIT + 1 + EXCESS || undefined, 2_000, 'b to flush');
    // Both now know the limit is reached: refused, and counted, without asking Redis on the request's path.
    expect((await b.increment(key)).totalHits).to.equal(LIMIT + EXCESS + 2);
    expect((await a.increment(key)).totalHits).to.be.above(LIMIT);
    await eventually(async () => (await count(key)) === LIMIT + EXCESS + 3 || undefined, 2_000, 'both to flush');
  });

  it('answers a client already past its limit without Redis, and counts those hits with the next sync', async () => {
    const store = await gateway({ syncMs: 60_000 });
    const key = `f-${newId()}`;
    for (let i = 1; i <= LIMIT; i++) expect((await store.increment(key)).totalHits).to.equal(i);
    expect((await store.increment(key)).totalHits).to.equal(LIMIT + 1); // Redis's total: over
    const scripts = async () => {
      const stats = await redis.info('commandstats');
      return [...stats.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const before = await scripts();
    const flood = await Promise.all(Array.from({ length: 50 }, () => store.increment(key)));
    expect(flood.every((a) => a.totalHits > LIMIT)).to.equal(true);
    expect(await scripts()).to.equal(before);
    await store.shutdown();
    expect(await count(key)).to.equal(LIMIT + 51);
  });

  it('never lets more than the limit through over two instances, with hits alternating', async () => {
    const pair = [await gateway(), await gateway()];
    const key = `s-${newId()}`;
    const answers: ClientRateLimitInfo[] = [];
    for (let i = 0; i < 3 * LIMIT; i++) answers.push(await pair[i % 2]!.increment(key));
    expect(allowed(answers)).to.equal(LIMIT);
    // A store that did not share would let each instance count to the limit on its own.
    expect(answers.slice(LIMIT).every((a) => a.totalHits > LIMIT)).to.equal(true);
    await eventually(async () => (await count(key)) === 3 * LIMIT || undefined, 2_000, 'every hit in Redis');
  });

  it('gives a hit back in Redis on decrement and deletes the key on resetKey', async () => {
    const store = await gateway();
    const key = `d-${newId()}`;
    for (let i = 0; i < LIMIT / 2 + 1; i++) await store.increment(key);
    expect(await count(key)).to.equal(LIMIT / 2 + 1);
    await store.decrement(key);
    await eventually(async () => (await count(key)) === LIMIT / 2 || undefined, 2_000, 'the decrement in Redis');
    await store.resetKey(key);
    expect(await redis.exists(prefix + key)).to.equal(0);
    expect((await store.increment(key)).totalHits).to.equal(1);
  });

  for (const client of ['the gateway’s client (no offline queue)', 'a default ioredis client']) {
    describe(`while Redis is down, on ${client}`, () => {
      let proxy: TcpProxy;
      let logger: ReturnType<typeof recordingLogger>;
      let store: RedisSyncedStore;
      let connection: Redis;
      const warnings = () => logger.lines.filter((l) => l.level === 'warn');
      /**
       * The answer, and whether it came before the event loop next polled for I/O: an answer that needed
       * Redis (or waited for it to time out) cannot, one from the local count does. No clock involved.
       */
      const timed = async (hit: () => Promise<ClientRateLimitInfo>) => {
        let polled = false;
        setImmediate(() => (polled = true));
        const answer = await hit();
        return { ...answer, waited: polled };
      };

      beforeEach(async () => {
        proxy = await tcpProxy(new URL(redisUrl));
        const proxied = new URL(redisUrl);
        proxied.port = String(proxy.port);
        logger = recordingLogger();
        connection = client.startsWith('the')
          ? await connectRedis(proxied.toString(), silentLogger)
          : new Redis(proxied.toString()).on('error', () => {});
        if (connection.status !== 'ready') await new Promise((r) => connection.once('ready', r));
        store = new RedisSyncedStore({ redis: connection, prefix, logger, syncMs: 50, retryMs: 200, waitMs: 25 });
        store.init({ windowMs: 60_000, limit: LIMIT } as Options);
      });
      afterEach(async () => {
        await store.shutdown();
        connection.disconnect();
        await proxy.cut();
      });

      it('limits locally without waiting, logs once, and flushes and shares again once it is back', async () => {
        const key = `o-${newId()}`;
        for (let i = 0; i < 6; i++) await store.increment(key);
        expect(await count(key)).to.equal(6);

        await proxy.cut();
        const during = [];
        for (let i = 0; i < 8; i++) during.push(await timed(() => store.increment(key)));
        // Counting on from what Redis last said: 7 to 10 pass, then the limit holds.
        expect(during.map((a) => a.totalHits)).to.deep.equal([7, 8, 9, 10, 11, 12, 13, 14]);
        // The first hit may still find the connection up and wait (waitMs at most); none after it waits.
        expect(during.slice(1).map((a) => a.waited)).to.deep.equal(Array(7).fill(false));
        expect(store.degraded).to.equal(true);
        expect(await count(key)).to.equal(6);
        await new Promise((r) => setTimeout(r, 500)); // probes fail in the background, unlogged
        expect((await timed(() => store.increment(key))).waited).to.equal(false);
        expect(warnings()).to.have.length(1);
        expect(warnings()[0]!.message).to.equal(
          'rate limits: shared store unavailable, limiting per instance until it is back',
        );
        expect(warnings()[0]!.meta).to.include({ store: prefix }).and.to.have.property('error').that.is.a('string');

        await redis.incrby(prefix + key, 3); // another instance's hits meanwhile
        await proxy.open();
        await eventually(async () => (store.degraded ? undefined : true), 10_000, 'the store to use Redis again');
        // Every hit counted meanwhile reached Redis: 6 + 3 + 9.
        await eventually(async () => ((await count(key)) === 18 ? true : undefined), 2_000, 'the pending hits');
        expect(logger.lines.filter((l) => l.message === 'rate limits: shared store available again')).to.have.length(1);
        expect((await store.increment(key)).totalHits).to.equal(19);
        await eventually(async () => ((await count(key)) === 19 ? true : undefined), 2_000, 'the next sync');
        expect(warnings()).to.have.length(1);
      });
    });
  }
});
