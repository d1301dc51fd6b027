import { expect } from 'chai';
import { isUuid, newId } from '../../../src/shared/id.ts';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit Unix-millisecond timestamp a UUIDv7 starts with. */
const millisOf = (id: string) => Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('newId', () => {
  it('makes an RFC 9562 UUIDv7 (version 7, variant 10)', () => {
    const id = newId();
    expect(id).to.match(UUID_V7);
    expect(isUuid(id)).to.equal(true);
  });

  it('carries the creation time in its first 48 bits', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    expect(millisOf(id)).to.be.within(before, after + 1);
  });

  it('makes 10,000 unique ids, each greater as a string than the one before', () => {
    const ids = Array.from({ length: 10_000 }, () => newId());
    expect(new Set(ids).size).to.equal(ids.length);
    for (let i = 1; i < ids.length; i++) {
      if (!(ids[i]! > ids[i - 1]!)) expect.fail(`id #${i} ${ids[i]} is not greater than ${ids[i - 1]}`);
    }
    for (const id of ids) if (!UUID_V7.test(id)) expect.fail(`${id} is not a UUIDv7`);
  });
});

describe('isUuid', () => {
  it('accepts UUIDs of other versions and either case', () => {
    expect(isUuid(crypto.randomUUID())).to.equal(true);
    expect(isUuid(newId().toUpperCase())).to.equal(true);
  });

  it('refuses what is not a UUID', () => {
    for (const value of ['', 'not-a-uuid', `${newId()}0`, ` ${newId()}`, newId().replace(/-/g, '')]) {
      expect(isUuid(value), value).to.equal(false);
    }
  });
});
