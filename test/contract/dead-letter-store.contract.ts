import { expect } from 'chai';
import type { DeadLetter, DeadLetterStore } from '../../src/adapters/messaging/in-process/dead-letter-store.ts';
import { newId } from '../../src/shared/id.ts';
import { envelope } from './event-bus.contract.ts';

export interface DeadLetterStoreUnderTest {
  store: DeadLetterStore;
  /** The same storage opened anew, as after a restart (memory: the same store). */
  reopen(): Promise<DeadLetterStore>;
  dispose(): Promise<void>;
}

const letter = (n: number, over: Partial<DeadLetter> = {}): DeadLetter => ({
  topic: 'order-events',
  group: 'product-service',
  error: `Error: failure ${n}`,
  code: 'EVENT_HANDLER_FAILED',
  attempts: 5,
  parkedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  event: envelope(newId(), 'OrderPlaced', { n }),
  ...over,
});

/** What every DeadLetterStore adapter does: keep, list, find and settle letters once. */
export function describeDeadLetterStoreContract(name: string, make: () => Promise<DeadLetterStoreUnderTest>) {
  describe(`DeadLetterStore contract: ${name}`, () => {
    let t: DeadLetterStoreUnderTest;
    beforeEach(async () => {
      t = await make();
    });
    afterEach(() => t.dispose());

    it('keeps each letter as parked, with an id, oldest first, and returns it as given', async () => {
      const letters = [letter(2), letter(1), letter(3, { code: 'INSUFFICIENT_STOCK' })];
      for (const l of letters) await t.store.append(l);
      const listed = await (await t.reopen()).list();
      expect(listed.map((l) => l.event.id)).to.deep.equal(
        [letters[1]!, letters[0]!, letters[2]!].map((l) => l.event.id),
      );
      for (const stored of listed) {
        const given = letters.find((l) => l.event.id === stored.event.id)!;
        expect(stored).to.deep.include({ ...given, state: 'parked', settledAt: null });
        expect(stored.id).to.be.a('string').and.not.equal('');
      }
      expect(new Set(listed.map((l) => l.id)).size).to.equal(3);
      expect((await t.store.read()).map((l) => l.event.id)).to.have.members(letters.map((l) => l.event.id));
    });

    it('filters by topic, group and state, and limits', async () => {
      await t.store.append(letter(1));
      await t.store.append(letter(2, { topic: 'product-events', group: 'order-service' }));
      await t.store.append(letter(3));
      expect(await t.store.list({ topic: 'product-events' })).to.have.length(1);
      expect(await t.store.list({ group: 'product-service' })).to.have.length(2);
      expect(await t.store.list({ group: 'product-service', limit: 1 })).to.have.length(1);
      const [first] = await t.store.list();
      await t.store.settle(first!.id, 'discarded', new Date());
      expect((await t.store.list({ state: 'parked' })).map((l) => l.id)).not.to.include(first!.id);
      expect((await t.store.list({ state: 'discarded' })).map((l) => l.id)).to.deep.equal([first!.id]);
    });

    it('finds a letter by id, and nothing for an unknown id', async () => {
      await t.store.append(letter(1));
      const [stored] = await t.store.list();
      expect(await t.store.get(stored!.id)).to.deep.equal(stored);
      expect(await t.store.get(newId())).to.equal(undefined);
    });

    it('settles a letter once: replayed or discarded, kept for audit', async () => {
      await t.store.append(letter(1));
      await t.store.append(letter(2));
      const [a, b] = await t.store.list();
      const at = new Date(Date.UTC(2026, 1, 1));
      expect(await t.store.settle(a!.id, 'replayed', at)).to.equal(true);
      expect(await t.store.settle(a!.id, 'replayed', new Date()), 'again').to.equal(false);
      expect(await t.store.settle(a!.id, 'discarded', new Date()), 'the other way').to.equal(false);
      expect(await t.store.settle(b!.id, 'discarded', at)).to.equal(true);
      expect(await t.store.settle(newId(), 'discarded', at), 'unknown').to.equal(false);
      const reopened = await t.reopen();
      expect(await reopened.get(a!.id)).to.deep.include({ state: 'replayed', settledAt: at.toISOString() });
      expect(await reopened.get(b!.id)).to.deep.include({ state: 'discarded', settledAt: at.toISOString() });
    });
  });
}
