import { expect } from 'chai';
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import { newId } from '../../src/shared/id.ts';

export interface RateLimitStoreUnderTest {
  store: Store;
  dispose(): Promise<void>;
}

/** Short, so that a test can see a window end. */
export const WINDOW_MS = 300;
export const LIMIT = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What every express-rate-limit store must do for our limiter: a count per key in a fixed window, exactly one
 * more per hit, a reset time inside the window, a fresh window once it ended, and decrement and reset.
 * The store is initialised with `{ windowMs: WINDOW_MS, limit: LIMIT }`.
 */
export function describeRateLimitStoreContract(name: string, make: () => Promise<RateLimitStoreUnderTest>) {
  describe(`rate-limit Store contract: ${name}`, function () {
    this.timeout(10_000);
    let t: RateLimitStoreUnderTest;
    /** Copies the answer: MemoryStore hands out its live record. */
    const hit = async (key: string): Promise<ClientRateLimitInfo> => {
      const { totalHits, resetTime } = await t.store.increment(key);
      return { totalHits, resetTime: resetTime && new Date(resetTime) };
    };
    const hits = async (key: string, n: number) => {
      const totals: number[] = [];
      for (let i = 0; i < n; i++) totals.push((await hit(key)).totalHits);
      return totals;
    };

    beforeEach(async () => {
      t = await make();
      await t.store.init?.({ windowMs: WINDOW_MS, limit: LIMIT } as Options);
    });
    afterEach(() => t.dispose());

    it('counts one more per hit, past the limit too, and each key on its own', async () => {
      const [a, b] = [`a-${newId()}`, `b-${newId()}`];
      expect(await hits(a, LIMIT + 2)).to.deep.equal(Array.from({ length: LIMIT + 2 }, (_, i) => i + 1));
      expect(await hits(b, 2)).to.deep.equal([1, 2]);
      expect((await hit(a)).totalHits).to.equal(LIMIT + 3);
    });

    it('answers a reset time in the future, within the window, the same for every hit of the window', async () => {
      const key = `k-${newId()}`;
      const started = Date.now();
      const first = await hit(key);
      const later = await hit(key);
      expect(first.resetTime!.getTime()).to.be.above(Date.now());
      expect(first.resetTime!.getTime()).to.be.at.most(Date.now() + WINDOW_MS + 5);
      expect(first.resetTime!.getTime()).to.be.at.least(started + WINDOW_MS - 50);
      expect(Math.abs(later.resetTime!.getTime() - first.resetTime!.getTime())).to.be.at.most(20);
    });

    it('starts a new window once windowMs has passed', async () => {
      const key = `w-${newId()}`;
      expect(await hits(key, LIMIT)).to.have.length(LIMIT);
      const ended = (await hit(key)).resetTime!;
      await sleep(ended.getTime() - Date.now() + 50);
      const fresh = await hit(key);
      expect(fresh.totalHits).to.equal(1);
      expect(fresh.resetTime!.getTime()).to.be.above(ended.getTime());
      expect(fresh.resetTime!.getTime()).to.be.above(Date.now());
    });

    it('gives a hit back on decrement', async () => {
      const key = `d-${newId()}`;
      await hits(key, 3);
      await t.store.decrement(key);
      expect((await hit(key)).totalHits).to.equal(3);
      for (let i = 0; i < LIMIT; i++) await t.store.decrement(key);
      expect(await hits(key, 3)).to.deep.equal([1, 2, 3]); // a count never goes below zero
    });

    it('forgets a key on resetKey, and only that key', async () => {
      const [key, other] = [`r-${newId()}`, `o-${newId()}`];
      await hits(key, LIMIT);
      await hits(other, 2);
      await t.store.resetKey(key);
      expect((await hit(key)).totalHits).to.equal(1);
      expect((await hit(other)).totalHits).to.equal(3);
    });

    it('reports the current count through get, without counting', async () => {
      const key = `g-${newId()}`;
      if (!t.store.get) return;
      expect(await t.store.get(key)).to.equal(undefined);
      await hits(key, 2);
      expect((await t.store.get(key))?.totalHits).to.equal(2);
      expect((await t.store.get(key))?.totalHits).to.equal(2);
    });
  });
}
