import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.port.ts';
import { within } from '../../shared/within.ts';

export interface RedisSyncedStoreOptions {
  /** The shared connection. Never waited on while it is not ready (no command sits in its offline queue). */
  redis: Redis;
  /** Prepended to every client key, e.g. "hexashop:rl:read:". */
  prefix: string;
  logger: Logger;
  /** How often hits counted here are sent to Redis in one pipeline. Default 100 ms. */
  syncMs?: number;
  /** While Redis is down, how often to check whether it is back. Default 1 s. */
  retryMs?: number;
  /** The longest a request waits for Redis's answer before it is answered from the local count. Default 25 ms. */
  waitMs?: number;
}

/** One client's fixed window as this instance sees it. */
interface Entry {
  /** When the window ends (epoch ms): Redis's TTL once known, else the first local hit plus windowMs. */
  resetAt: number;
  /** The total Redis last answered for this window: every instance's hits that had reached it. */
  shared: number;
  /** Counted here and not sent yet (negative after a decrement). */
  pending: number;
  /** Sent and not answered yet. */
  inflight: number;
}

// INCRBY and, for a new key, the window's expiry in one atomic step; answers the total and the window left.
const HIT_SCRIPT = `
local delta = tonumber(ARGV[1])
if delta <= 0 and redis.call('EXISTS', KEYS[1]) == 0 then return {0, -2} end
local total = redis.call('INCRBY', KEYS[1], delta)
if total < 0 then total = redis.call('INCRBY', KEYS[1], -total) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {total, ttl}`;
const HIT = 'hexashopRateLimitHit';
type HitCommand = (key: string, delta: number, windowMs: number) => Promise<[number, number]>;
/** The script as defined on the client or a pipeline of it (where it queues and answers through exec). */
const hit = (target: Redis | ChainableCommander, key: string, delta: number, windowMs: number) =>
  (target as unknown as Record<string, HitCommand>)[HIT]!.call(target, key, delta, windowMs);

const estimate = (e: Entry) => e.shared + e.inflight + e.pending;

/**
 * A rate-limit store shared by every gateway instance through Redis that spends no Redis round trip on most
 * requests: it counts hits here and sends them to Redis in one pipeline every `syncMs` (as Kong's
 * `sync_rate` and Envoy's local-plus-global limits do), and only near the limit asks Redis on the request's
 * path. Each key has a fixed window of `windowMs` that starts with its first hit in Redis (the key's TTL).
 *
 * A hit is answered with `shared + pending`: the total Redis last reported (every instance's flushed hits)
 * plus the hits counted here since. While that is below half the limit it is answered at once; from half the
 * limit on the hit goes to Redis with this instance's pending hits and the answer is Redis's exact total —
 * until Redis has reported the limit reached: the client is refused for the rest of the window whatever the
 * others count, so its further hits are answered here and sent with the next sync (a flood past the budget
 * costs Redis nothing per request).
 *
 * The bound, for one key, one window and a limit L (no decrements), while Redis answers: with N instances at
 * most L + (N − 1) · (⌈L/2⌉ − 1) hits are let through. Redis's totals are exact for every hit that reached it,
 * so the only excess is hits that other instances let through below half the limit and had not sent yet when
 * this one reached L in Redis: at most ⌈L/2⌉ − 1 per instance, all from its last sync period (plus a round
 * trip). One instance is exact. Two are exact for requests that alternate between them or are spaced more
 * than a sync period apart; a burst spread over both within one sync period can get up to ⌈L/2⌉ − 1 more.
 *
 * Redis down (a command fails, or the connection is not ready): the store fails open with the same counts —
 * each instance limits on its own against what Redis last said plus its own hits (so a client may get up to
 * N times its budget meanwhile), and keeps its pending hits to send once Redis answers, so the counts
 * converge. No request waits on Redis then: a connection that is not ready is not used at all, and an answer
 * slower than `waitMs` is replaced by the local count (the command's failure, if it fails, marks Redis down).
 * A background flush probes Redis at most every `retryMs`. The switch is logged once each way. Hits still
 * pending when their window ends are dropped with it: they were spent in that window, not the next.
 */
export class RedisSyncedStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  readonly #redis: Redis;
  readonly #logger: Logger;
  readonly #syncMs: number;
  readonly #retryMs: number;
  readonly #waitMs: number;
  readonly #entries = new Map<string, Entry>();
  /** Keys with hits to send. */
  readonly #dirty = new Set<string>();
  #windowMs = 60_000;
  /** A limit that is not a number (a function) sends every hit to Redis. */
  #limit = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #nextSweep = 0;
  /** While Redis is down, when to probe it again; null while it answers. */
  #retryAt: number | null = null;

  constructor(options: RedisSyncedStoreOptions) {
    this.#redis = options.redis;
    this.prefix = options.prefix;
    this.#logger = options.logger;
    this.#syncMs = options.syncMs ?? 100;
    this.#retryMs = options.retryMs ?? 1_000;
    this.#waitMs = options.waitMs ?? 25;
    this.#redis.defineCommand(HIT, { lua: HIT_SCRIPT, numberOfKeys: 1 });
  }

  /** True while Redis is considered down and every instance limits on its own. */
  get degraded(): boolean {
    return this.#retryAt !== null;
  }

  init(options: Options): void {
    this.#windowMs = options.windowMs;
    this.#limit = typeof options.limit === 'number' ? options.limit : 0;
    clearInterval(this.#timer);
    this.#timer = setInterval(() => void this.#flush(), this.#syncMs);
    this.#timer.unref();
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const entry = this.#current(key, Date.now());
    entry.pending += 1;
    this.#dirty.add(key);
    // Below half the limit the local estimate is close enough; at or over the limit by Redis's own count the
    // answer is a refusal whatever the others did, so a client flooding past its budget costs no round trips.
    const local = estimate(entry) * 2 < this.#limit || entry.shared >= this.#limit;
    if (local || !this.#available()) return this.#answer(entry, estimate(entry));
    const total = await within(this.#send(key, entry), this.#waitMs);
    return this.#answer(entry, total ?? estimate(entry));
  }

  async decrement(key: string): Promise<void> {
    const entry = this.#live(key, Date.now());
    if (!entry || estimate(entry) <= 0) return; // nothing left to give back in this window
    entry.pending -= 1;
    this.#dirty.add(key);
    if (this.#available()) await within(this.#send(key, entry), this.#waitMs);
  }

  async resetKey(key: string): Promise<void> {
    this.#entries.delete(key);
    this.#dirty.delete(key);
    if (!this.#available()) return;
    await within(
      this.#redis.del(this.prefix + key).catch((error: unknown) => this.#degrade(error)),
      this.#waitMs,
    );
  }

  get(key: string): ClientRateLimitInfo | undefined {
    const entry = this.#live(key, Date.now());
    return entry && this.#answer(entry, Math.max(0, estimate(entry)));
  }

  /** Stops the timer and sends what is pending, waiting for Redis at most about a second. */
  async shutdown(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await within(this.#flushing ?? Promise.resolve(), 1_000);
    if (this.#redis.status === 'ready') await within(this.#flush(true), 1_000);
  }

  #answer(entry: Entry, totalHits: number): ClientRateLimitInfo {
    return { totalHits, resetTime: new Date(entry.resetAt) };
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    return entry && now < entry.resetAt ? entry : undefined;
  }

  /** The key's entry for the window running now; a new one (dropping the old window's hits) when it ended. */
  #current(key: string, now: number): Entry {
    let entry = this.#live(key, now);
    if (!entry) {
      entry = { resetAt: now + this.#windowMs, shared: 0, pending: 0, inflight: 0 };
      this.#entries.set(key, entry);
    }
    return entry;
  }

  /** Whether a request may ask Redis now. Never true for a connection that would queue the command. */
  #available(): boolean {
    if (this.#retryAt !== null) return false;
    if (this.#redis.status === 'ready') return true;
    this.#degrade(new Error(`connection ${this.#redis.status}`));
    return false;
  }

  /** Sends the key's pending hits on their own; the total Redis answered, or undefined when it failed. */
  #send(key: string, entry: Entry): Promise<number | undefined> {
    const delta = this.#take(key, entry);
    return hit(this.#redis, this.prefix + key, delta, this.#windowMs).then(
      (reply) => this.#applied(key, entry, delta, reply),
      (error: unknown) => this.#failed(key, entry, delta, error),
    );
  }

  /** Moves the pending hits to in flight: the estimate still counts them, the next send does not. */
  #take(key: string, entry: Entry): number {
    const delta = entry.pending;
    entry.pending = 0;
    entry.inflight += delta;
    this.#dirty.delete(key);
    return delta;
  }

  /**
   * Redis answers one connection's commands in order, so a reply counts every hit sent before it and none of
   * those still in flight: it is the shared total to add them to.
   */
  #applied(key: string, entry: Entry, delta: number, [total, ttl]: [number, number]): number {
    entry.inflight -= delta;
    if (this.#entries.get(key) === entry) {
      entry.shared = total;
      if (ttl > 0) entry.resetAt = Date.now() + ttl;
    }
    return total;
  }

  /** Back to pending, to be sent again once Redis answers: the counts converge. */
  #failed(key: string, entry: Entry, delta: number, error: unknown): undefined {
    entry.inflight -= delta;
    entry.pending += delta;
    if (this.#entries.get(key) === entry && entry.pending !== 0) this.#dirty.add(key);
    this.#degrade(error);
    return undefined;
  }

  #flush(force = false): Promise<void> {
    this.#flushing ??= this.#flushPending(force).finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  /** One pipeline with every key's pending hits; while degraded, also the probe that Redis is back. */
  async #flushPending(force: boolean): Promise<void> {
    const now = Date.now();
    this.#sweep(now);
    const probing = this.#retryAt !== null;
    if (probing && now < this.#retryAt! && !force) return;
    if (this.#redis.status !== 'ready') return this.#degrade(new Error(`connection ${this.#redis.status}`));
    const batch: { key: string; entry: Entry; delta: number }[] = [];
    for (const key of this.#dirty) {
      const entry = this.#live(key, now);
      if (entry && entry.pending !== 0) batch.push({ key, entry, delta: this.#take(key, entry) });
      else this.#dirty.delete(key);
    }
    if (batch.length === 0) {
      if (probing)
        await this.#redis.ping().then(
          () => this.#recovered(),
          (error: unknown) => this.#degrade(error),
        );
      return;
    }
    const pipeline = this.#redis.pipeline();
    for (const { key, delta } of batch) hit(pipeline, this.prefix + key, delta, this.#windowMs);
    let failure: unknown;
    const replies = await pipeline.exec().catch((error: unknown) => void (failure = error));
    batch.forEach(({ key, entry, delta }, i) => {
      const [error, reply] = replies?.[i] ?? [failure ?? new Error('no reply from Redis'), null];
      if (error) {
        failure ??= error;
        this.#failed(key, entry, delta, error);
      } else this.#applied(key, entry, delta, reply as [number, number]);
    });
    if (probing && failure === undefined) this.#recovered();
  }

  /** Forgets windows that ended, so memory holds only the clients of the current window. */
  #sweep(now: number): void {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + Math.min(this.#windowMs, 1_000);
    for (const [key, entry] of this.#entries) {
      if (now >= entry.resetAt) {
        this.#entries.delete(key);
        this.#dirty.delete(key);
      }
    }
  }

  #recovered(): void {
    if (this.#retryAt === null) return;
    this.#retryAt = null;
    this.#logger.info('rate limits: shared store available again', { store: this.prefix });
  }

  #degrade(error: unknown): void {
    if (this.#retryAt === null) {
      this.#logger.warn('rate limits: shared store unavailable, limiting per instance until it is back', {
        code: 'RATE_LIMIT_STORE_UNAVAILABLE',
        store: this.prefix,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    this.#retryAt = Date.now() + this.#retryMs;
  }
}
