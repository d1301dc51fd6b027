import { expect } from 'chai';
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import { FailOpenStore } from '../../../src/adapters/http/fail-open-store.ts';
import type { Logger } from '../../../src/shared/logger.port.ts';

type Line = { level: string; message: string; meta: Record<string, unknown> | undefined };
function recordingLogger(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (message: string, meta?: Record<string, unknown>) =>
    void lines.push({ level, message, meta });
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

/** A shared store that counts in a map and fails every call while `down`. */
class FlakyStore implements Store {
  readonly prefix = 'flaky:';
  down = false;
  inits = 0;
  readonly counts = new Map<string, number>();

  #check() {
    if (this.down) throw new Error('connection refused');
  }
  async init() {
    this.inits += 1;
    this.#check();
  }
  async increment(key: string): Promise<ClientRateLimitInfo> {
    this.#check();
    const totalHits = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, totalHits);
    return { totalHits, resetTime: new Date(Date.now() + 60_000) };
  }
  async decrement(key: string) {
    this.#check();
    this.counts.set(key, (this.counts.get(key) ?? 1) - 1);
  }
  async resetKey(key: string) {
    this.#check();
    this.counts.delete(key);
  }
}

const options = { windowMs: 60_000 } as Options;
const settle = () => new Promise((r) => setTimeout(r, 5));

describe('FailOpenStore', () => {
  it('counts in the shared store while it answers', async () => {
    const shared = new FlakyStore();
    const store = new FailOpenStore(shared, recordingLogger());
    await store.init(options);
    expect((await store.increment('a')).totalHits).to.equal(1);
    expect((await store.increment('a')).totalHits).to.equal(2);
    expect(shared.counts.get('a')).to.equal(2);
    expect(store.degraded).to.equal(false);
    await store.shutdown();
  });

  it('counts locally while the shared store fails, logging once, and goes back when it answers', async () => {
    const shared = new FlakyStore();
    const logger = recordingLogger();
    const store = new FailOpenStore(shared, logger, 0);
    await store.init(options);
    await store.increment('a');
    shared.down = true;
    expect((await store.increment('a')).totalHits).to.equal(1); // local count starts afresh
    expect((await store.increment('a')).totalHits).to.equal(2);
    expect(store.degraded).to.equal(true);
    expect(logger.lines.filter((l) => l.level === 'warn')).to.have.length(1);
    expect(logger.lines[0]!.meta).to.include({ store: 'flaky:', error: 'connection refused' });

    shared.down = false;
    await store.increment('a'); // still local; starts a probe in the background
    await settle();
    expect(store.degraded).to.equal(false);
    expect(logger.lines.map((l) => l.message)).to.include('rate limits: shared store available again');
    expect((await store.increment('a')).totalHits).to.equal(2); // the shared count resumes
    await store.shutdown();
  });

  it('starts degraded when the shared store cannot initialise, and probes no more often than retryMs', async () => {
    const shared = new FlakyStore();
    shared.down = true;
    const store = new FailOpenStore(shared, recordingLogger(), 60_000);
    await store.init(options);
    expect(store.degraded).to.equal(true);
    for (let i = 0; i < 5; i++) await store.increment('b');
    await settle();
    expect(shared.inits).to.equal(1); // no probe inside the retry interval
    expect((await store.get('b'))?.totalHits).to.equal(5);
    await store.shutdown();
  });
});
