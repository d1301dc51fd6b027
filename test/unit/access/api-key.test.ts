import { expect } from 'chai';
import { nodeKeySecrets } from '../../../src/adapters/crypto/node-key-secrets.ts';
import { InMemoryApiKeyRepository } from '../../../src/adapters/persistence/in-memory/in-memory-api-key.repository.ts';
import { ApiKeyAuthenticator } from '../../../src/modules/access/application/api-key-authenticator.ts';
import type { ApiKeyRepository } from '../../../src/modules/access/application/ports/api-key-repository.port.ts';
import { createApiKey, newSecret } from '../../../src/modules/access/application/use-cases/create-api-key.use-case.ts';
import {
  revokeApiKey,
  rollApiKey,
} from '../../../src/modules/access/application/use-cases/manage-api-keys.use-case.ts';
import {
  CHECKSUM_LENGTH,
  crc32,
  isWellFormedKey,
  KEY_LENGTH,
  KEY_PREFIX,
  keyFromRandomBytes,
  RANDOM_LENGTH,
} from '../../../src/modules/access/domain/api-key-format.ts';
import { ApiKey } from '../../../src/modules/access/domain/api-key.ts';
import { DomainError } from '../../../src/shared/domain-error.ts';

const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const secretParts = { prefix: KEY_PREFIX, start: 'abcd', end: 'wxyz', hash: 'a'.repeat(64) };

describe('API key format', () => {
  it('is hxs_live_, 24 random base62 characters (≥ 128 bits) and a 6-character checksum', () => {
    const key = newSecret(nodeKeySecrets);
    expect(key).to.match(/^hxs_live_[0-9A-Za-z]{30}$/);
    expect(key.length).to.equal(KEY_LENGTH);
    expect(RANDOM_LENGTH * Math.log2(62)).to.be.at.least(128);
    expect(CHECKSUM_LENGTH).to.equal(6);
    expect(isWellFormedKey(key)).to.equal(true);
  });

  it('computes the standard CRC-32', () => {
    expect(crc32('123456789')).to.equal(0xcbf43926);
  });

  it('refuses any single changed character, a truncated or extended key, and another prefix', () => {
    const key = newSecret(nodeKeySecrets);
    for (let i = KEY_PREFIX.length; i < key.length; i++) {
      const changed = key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1);
      expect(isWellFormedKey(changed), changed).to.equal(false);
    }
    expect(isWellFormedKey(key.slice(0, -1))).to.equal(false);
    expect(isWellFormedKey(`${key}0`)).to.equal(false);
    expect(isWellFormedKey(key.replace('hxs_live_', 'hxs_test_'))).to.equal(false);
    expect(isWellFormedKey('')).to.equal(false);
  });

  it('draws every character uniformly: bytes ≥ 248 are skipped, and too few bytes give no key', () => {
    expect(keyFromRandomBytes(new Uint8Array(23))).to.equal(null);
    expect(keyFromRandomBytes(new Uint8Array(30).fill(250))).to.equal(null);
    const zeros = keyFromRandomBytes(new Uint8Array([255, ...new Uint8Array(24)]))!;
    expect(zeros.slice(KEY_PREFIX.length, KEY_PREFIX.length + RANDOM_LENGTH)).to.equal('0'.repeat(24));
    const keys = new Set(Array.from({ length: 1000 }, () => newSecret(nodeKeySecrets)));
    expect(keys.size).to.equal(1000);
  });
});

describe('ApiKey', () => {
  const key = (extra: Partial<Parameters<typeof ApiKey.create>[1]> = {}) =>
    ApiKey.create('k1', { name: 'ci', role: 'admin', ...extra }, secretParts, T0);

  it('is usable until it expires', () => {
    const k = key({ expiresAt: at(60) });
    expect(k.unusableAt(at(59))).to.equal(null);
    expect(k.unusableAt(at(60))).to.equal('expired');
  });

  it('refuses an expiry in the past and invalid rate limits', () => {
    expect(() => key({ expiresAt: at(-1) })).to.throw(DomainError);
    expect(() => key({ rateLimitPerMinute: 0 })).to.throw(DomainError);
    expect(() => key({ rateLimitPerMinute: 1.5 })).to.throw(DomainError);
  });

  it('is refused from its revocation on; revoking twice keeps the first time', () => {
    const revoked = key().revoke(at(10));
    expect(revoked.unusableAt(at(9))).to.equal(null);
    expect(revoked.unusableAt(at(10))).to.equal('revoked');
    expect(revoked.revoke(at(20)).toProps().revokedAt).to.deep.equal(at(10));
  });

  it('stays valid for the grace period once rolled, and can be rolled once', () => {
    const old = key();
    const successor = ApiKey.create('k2', old.successorInput(), { ...secretParts, hash: 'b'.repeat(64) }, T0);
    const rolled = old.roll(successor, 30, T0);
    expect(rolled.unusableAt(at(29))).to.equal(null);
    expect(rolled.unusableAt(at(30))).to.equal('rolled');
    expect(rolled.toProps().rolledTo).to.equal('k2');
    expect(() => rolled.roll(successor, 30, T0)).to.throw(/rolled already/);
    expect(() => old.roll(successor, 7 * 86400 + 1, T0)).to.throw(DomainError);
    expect(old.roll(successor, 0, T0).unusableAt(T0)).to.equal('rolled');
    expect(() => old.revoke(T0).roll(successor, 10, T0)).to.throw(/revoked/);
  });
});

/** A repository that counts what the authenticator asks of it. */
function counting(inner: ApiKeyRepository) {
  const counts = { findByHash: 0, recordUse: 0 };
  const repository: ApiKeyRepository = {
    insert: (key) => inner.insert(key),
    findById: (id) => inner.findById(id),
    findByHash: (hash) => (counts.findByHash++, inner.findByHash(hash)),
    list: (page) => inner.list(page),
    saveRevocation: (key) => inner.saveRevocation(key),
    saveRoll: (rolled, successor) => inner.saveRoll(rolled, successor),
    recordUse: (uses) => ((counts.recordUse += uses.size), inner.recordUse(uses)),
  };
  return { repository, counts };
}

describe('ApiKeyAuthenticator', () => {
  let now = T0;
  const clock = { now: () => now };
  const setup = () => {
    now = T0;
    const store = new InMemoryApiKeyRepository();
    const { repository, counts } = counting(store);
    const deps = { repository, clock, secrets: nodeKeySecrets };
    return { deps, counts, store, auth: new ApiKeyAuthenticator(deps, { cacheTtlMs: 2000, maxEntries: 100 }) };
  };

  it('refuses a malformed key or a bad checksum without a lookup', async () => {
    const { auth, counts } = setup();
    const good = newSecret(nodeKeySecrets);
    const badChecksum = good.slice(0, -1) + (good.endsWith('a') ? 'b' : 'a');
    for (const presented of ['nope', badChecksum, `${good}x`]) {
      expect(await auth.verify(presented)).to.deep.equal({ ok: false, reason: 'malformed' });
    }
    expect(counts.findByHash).to.equal(0);
    expect(await auth.verify(good)).to.deep.equal({ ok: false, reason: 'unknown' });
    expect(counts.findByHash).to.equal(1);
  });

  it('caches answers (found and unknown) for the TTL, and judges expiry on every request', async () => {
    const { auth, counts, deps } = setup();
    const { secret } = await createApiKey(deps, { name: 'a', role: 'customer', expiresAt: at(4) });
    const unknown = newSecret(nodeKeySecrets);
    expect((await auth.verify(secret)).ok).to.equal(true);
    expect(await auth.verify(unknown)).to.include({ ok: false });
    const cached = auth.verify(secret);
    expect(cached, 'a cached answer is synchronous').to.not.be.instanceOf(Promise);
    auth.verify(unknown);
    expect(counts.findByHash).to.equal(2);
    now = at(1.5);
    expect(auth.verify(secret)).to.include({ ok: true });
    now = at(2.5);
    expect(await auth.verify(secret)).to.include({ ok: true });
    expect(counts.findByHash).to.equal(3);
    now = at(4);
    expect(auth.verify(secret), 'judged from the cached key').to.deep.equal({ ok: false, reason: 'expired' });
  });

  it('sees a revocation made elsewhere once its cached answer is older than the TTL', async () => {
    const { auth, deps } = setup();
    const { key, secret } = await createApiKey(deps, { name: 'a', role: 'admin' });
    expect(await auth.verify(secret)).to.include({ ok: true });
    await revokeApiKey(deps, key.id);
    now = at(2);
    expect(await auth.verify(secret)).to.deep.equal({ ok: false, reason: 'revoked' });
  });

  it('accepts a rolled key until its grace ends, and its successor at once', async () => {
    const { auth, deps } = setup();
    const old = await createApiKey(deps, { name: 'a', role: 'admin', rateLimitPerMinute: 7 });
    const rolled = await rollApiKey(deps, old.key.id, 60);
    expect(rolled.key.rateLimitPerMinute).to.equal(7);
    expect(await auth.verify(old.secret)).to.include({ ok: true });
    expect(await auth.verify(rolled.secret)).to.include({ ok: true, rateLimitPerMinute: 7 });
    now = at(60);
    expect(await auth.verify(old.secret)).to.deep.equal({ ok: false, reason: 'rolled' });
  });

  it('writes uses in batches: one write per key per flush, whatever the number of requests', async () => {
    const { auth, deps, counts, store } = setup();
    const a = await createApiKey(deps, { name: 'a', role: 'admin' });
    const b = await createApiKey(deps, { name: 'b', role: 'admin' });
    for (let i = 0; i < 50; i++) {
      await auth.verify(a.secret);
      await auth.verify(b.secret);
    }
    expect(counts.recordUse).to.equal(0);
    expect(await auth.flushUsage()).to.equal(2);
    expect(counts.recordUse).to.equal(2);
    expect((await store.findById(a.key.id))!.toProps().lastUsedAt).to.deep.equal(T0);
    expect(await auth.flushUsage()).to.equal(0);
  });
});
