import { expect } from 'chai';
import { nodeKeySecrets } from '../../src/adapters/crypto/node-key-secrets.ts';
import type { ApiKeyRepository } from '../../src/modules/access/application/ports/api-key-repository.port.ts';
import { issue } from '../../src/modules/access/application/use-cases/create-api-key.use-case.ts';
import type { ApiKey, NewApiKey } from '../../src/modules/access/domain/api-key.ts';
import { newId } from '../../src/shared/id.ts';

export interface ApiKeyStoreUnderTest {
  repository: ApiKeyRepository;
  dispose(): Promise<void>;
}

const T0 = new Date('2026-01-02T03:04:05.678Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const make = (input: Partial<NewApiKey> = {}): ApiKey =>
  issue({ secrets: nodeKeySecrets }, { name: 'ci', role: 'admin', ...input }, T0).key;

/** What every ApiKeyRepository adapter must do: the access module relies on exactly this. */
export function describeApiKeyRepositoryContract(name: string, makeStore: () => Promise<ApiKeyStoreUnderTest>) {
  describe(`ApiKeyRepository contract: ${name}`, function () {
    this.timeout(30_000);
    let t: ApiKeyStoreUnderTest;
    beforeEach(async () => {
      t = await makeStore();
    });
    afterEach(() => t.dispose());

    it('stores a key and reads it back unchanged, by id and by hash', async () => {
      const key = make({ expiresAt: at(3600), rateLimitPerMinute: 30, role: 'customer' });
      await t.repository.insert(key);
      expect((await t.repository.findById(key.id))?.toProps()).to.deep.equal(key.toProps());
      expect((await t.repository.findByHash(key.toProps().hash))?.toProps()).to.deep.equal(key.toProps());
      expect(await t.repository.findById(newId())).to.equal(null);
      expect(await t.repository.findByHash('0'.repeat(64))).to.equal(null);
    });

    it('refuses a second key with the same hash', async () => {
      const key = make();
      await t.repository.insert(key);
      const twin = { ...key.toProps(), id: newId() };
      const { ApiKey } = await import('../../src/modules/access/domain/api-key.ts');
      let refused = false;
      await t.repository.insert(ApiKey.restore(twin)).catch(() => (refused = true));
      expect(refused).to.equal(true);
      expect(await t.repository.findById(twin.id)).to.equal(null);
    });

    it('lists keys in creation order, page by page', async () => {
      const keys = [make(), make(), make()];
      for (const k of keys) await t.repository.insert(k);
      const first = await t.repository.list({ limit: 2 });
      expect(first.map((k) => k.id)).to.deep.equal(keys.slice(0, 2).map((k) => k.id));
      const rest = await t.repository.list({ limit: 2, after: first[1]!.id });
      expect(rest.map((k) => k.id)).to.deep.equal([keys[2]!.id]);
    });

    it('stores a revocation once, keeping the first time', async () => {
      const key = make();
      await t.repository.insert(key);
      expect(await t.repository.saveRevocation(key.revoke(at(10)))).to.equal(true);
      await t.repository.saveRevocation(key.revoke(at(20)));
      expect((await t.repository.findById(key.id))!.toProps().revokedAt).to.deep.equal(at(10));
      expect(await t.repository.saveRevocation(make().revoke(at(1)))).to.equal(false);
    });

    it('rolls a key once: the successor stored and the grace recorded, a second roll or a revoked key refused', async () => {
      const key = make();
      await t.repository.insert(key);
      const successor = make();
      expect(await t.repository.saveRoll(key.roll(successor, 60, T0), successor)).to.equal(true);
      const stored = (await t.repository.findById(key.id))!.toProps();
      expect(stored.graceUntil).to.deep.equal(at(60));
      expect(stored.rolledTo).to.equal(successor.id);
      expect((await t.repository.findById(successor.id))?.toProps()).to.deep.equal(successor.toProps());

      const another = make();
      expect(await t.repository.saveRoll(key.roll(another, 60, T0), another), 'rolled already').to.equal(false);
      expect(await t.repository.findById(another.id), 'nothing inserted').to.equal(null);

      const revoked = make();
      await t.repository.insert(revoked);
      await t.repository.saveRevocation(revoked.revoke(T0));
      const third = make();
      expect(await t.repository.saveRoll(revoked.roll(third, 60, T0), third)).to.equal(false);
      expect(await t.repository.findById(third.id)).to.equal(null);
    });

    it('moves last use forward only, one key per entry', async () => {
      const [a, b] = [make(), make()];
      await t.repository.insert(a);
      await t.repository.insert(b);
      expect(
        await t.repository.recordUse(
          new Map([
            [a.id, at(5)],
            [b.id, at(7)],
            [newId(), at(1)],
          ]),
        ),
      ).to.equal(2);
      expect(await t.repository.recordUse(new Map([[a.id, at(3)]])), 'never back').to.equal(0);
      expect((await t.repository.findById(a.id))!.toProps().lastUsedAt).to.deep.equal(at(5));
      expect((await t.repository.findById(b.id))!.toProps().lastUsedAt).to.deep.equal(at(7));
    });
  });
}
