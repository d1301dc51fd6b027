import { expect } from 'chai';
import { PassiveEjection } from '../../../src/edge/gateway/passive-ejection.ts';

describe('passive ejection of an upstream instance', () => {
  let now = 0;
  const clock = () => now;
  const options = { baseMs: 1000, maxMs: 5000, consecutiveFailures: 3 };

  beforeEach(() => {
    now = 0;
  });

  it('ejects at once on a refused connection, after N failures in a row otherwise', () => {
    const refused = new PassiveEjection(options, clock);
    expect(refused.failed(true)).to.equal(true);
    expect(refused.ejected).to.equal(true);

    const failing = new PassiveEjection(options, clock);
    expect([failing.failed(false), failing.failed(false)]).to.deep.equal([false, false]);
    failing.succeeded();
    expect([failing.failed(false), failing.failed(false), failing.failed(false)]).to.deep.equal([false, false, true]);
    expect(failing.ejections).to.equal(1);
  });

  it('doubles each ejection in a row up to the cap, and starts over after a good answer', () => {
    const ejection = new PassiveEjection(options, clock);
    const lengths: number[] = [];
    for (let i = 0; i < 5; i++) {
      ejection.failed(true);
      lengths.push(ejection.remainingMs);
      now += ejection.remainingMs;
      expect(ejection.ejected).to.equal(false);
    }
    expect(lengths).to.deep.equal([1000, 2000, 4000, 5000, 5000]);

    ejection.succeeded();
    ejection.failed(true);
    expect(ejection.remainingMs).to.equal(1000);
  });

  it('is not lengthened by requests that were already in flight, and ends when cleared', () => {
    const ejection = new PassiveEjection(options, clock);
    ejection.failed(true);
    now += 400;
    expect(ejection.failed(true)).to.equal(false);
    expect(ejection.remainingMs).to.equal(600);
    ejection.clear();
    expect(ejection.ejected).to.equal(false);
    ejection.failed(true);
    expect(ejection.remainingMs, 'the streak starts over').to.equal(1000);
  });
});
