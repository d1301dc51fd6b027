import { expect } from 'chai';
import type { Cache } from '../../src/shared/cache.port.ts';
import { newId } from '../../src/shared/id.ts';

export interface CacheUnderTest {
  cache: Cache;
  dispose(): Promise<void>;
}

/** What every Cache adapter must do: JSON values and text in and out, expiry, deletion, no shared references. */
export function describeCacheContract(name: string, make: () => Promise<CacheUnderTest>) {
  describe(`Cache contract: ${name}`, function () {
    this.timeout(10_000);
    let t: CacheUnderTest;
    beforeEach(async () => {
      t = await make();
    });
    afterEach(() => t.dispose());

    it('returns what was stored, as an independent copy', async () => {
      const key = `k-${newId()}`;
      const value = { id: newId(), n: 3, nested: { list: ['a', 'b'] }, empty: null };
      await t.cache.set(key, value, 60);
      const read = await t.cache.get<typeof value>(key);
      expect(read).to.deep.equal(value);
      read!.nested.list.push('mutated');
      expect(await t.cache.get(key)).to.deep.equal(value);
    });

    it('returns text stored as text exactly as it was, and misses what it does not hold', async () => {
      const key = `k-${newId()}`;
      const text = '3 {"name":"Tea \\"green\\" é","n":1}';
      expect(await t.cache.getText(key)).to.equal(undefined);
      await t.cache.setText(key, text, 60);
      expect(await t.cache.getText(key)).to.equal(text);
      await t.cache.delete(key);
      expect(await t.cache.getText(key)).to.equal(undefined);
    });

    it('misses unknown and deleted keys', async () => {
      const key = `k-${newId()}`;
      expect(await t.cache.get(key)).to.equal(undefined);
      await t.cache.set(key, 'v', 60);
      await t.cache.delete(key);
      expect(await t.cache.get(key)).to.equal(undefined);
      await t.cache.delete(key);
    });

    it('forgets an entry after its time to live', async () => {
      const key = `k-${newId()}`;
      await t.cache.set(key, 'short-lived', 1);
      expect(await t.cache.get(key)).to.equal('short-lived');
      await new Promise((r) => setTimeout(r, 1_200));
      expect(await t.cache.get(key)).to.equal(undefined);
    });
  });
}
