/**
 * How a relay holds its database's outbox lease while it publishes, one strategy per dialect. Either
 * way a second relay on the same database (another instance of the service) gets nothing until the
 * first has published and marked its batch, so rows go out once per burst and in commit order.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Sql, SqlDatabase } from './sql.ts';

/** Runs `work` while holding the lease, on the statements the batch must be read and marked with. */
export interface OutboxLease {
  /** Resolves null, without running `work`, while another relay holds the lease. */
  hold<T>(work: (tx: Sql) => Promise<T>): Promise<T | null>;
  /** Gives up a lease kept between batches, if any. */
  release(): Promise<void>;
}

export function outboxLeaseFor(db: SqlDatabase): OutboxLease {
  return db.dialect === 'mysql' ? new RowLockLease(db) : new ExpiringLease(db);
}

/**
 * MySQL/MariaDB: the lease row is locked FOR UPDATE SKIP LOCKED in a transaction that also reads the
 * batch and marks it, and commits after publishing. A relay that dies mid-publish loses its connection
 * and with it the lock, so the next relay takes over at once (its batch goes out again: at least once).
 * READ COMMITTED so the batch read sees what the previous holder marked just before it committed.
 */
class RowLockLease implements OutboxLease {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  hold<T>(work: (tx: Sql) => Promise<T>): Promise<T | null> {
    return this.#db.transaction(
      async (tx) => {
        if (await tx.get('select id from outbox_relay_lock where id = 1 for update skip locked')) return work(tx);
        if (!(await tx.get('select id from outbox_relay_lock where id = 1'))) throw missingLeaseRow();
        return null; // locked by another relay
      },
      { readCommitted: true },
    );
  }

  async release(): Promise<void> {
    // Held only for the length of a transaction: nothing is kept between batches.
  }
}

/**
 * SQLite: a transaction would hold the file's single write lock (and block every writer) while the
 * relay publishes, so the row records a holder and an expiry instead. The relay keeps the lease from
 * batch to batch (renewed when half its time is gone) instead of taking and releasing it around each
 * one: those were two write transactions per batch, more than the batch's own marking. It gives the
 * lease up when it stops or when publishing fails. A holder that died is taken over when its expiry
 * passes, or at once when it was a process on this host that no longer runs (a restart after a crash
 * does not wait out the expiry).
 */
class ExpiringLease implements OutboxLease {
  static readonly ttlMs = 30_000;
  readonly #db: SqlDatabase;
  readonly #holder = `${hostname()}/${process.pid}/${randomUUID()}`;
  /** Until when this relay holds the lease (0: it does not). */
  #heldUntil = 0;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async hold<T>(work: (tx: Sql) => Promise<T>): Promise<T | null> {
    if (!(await this.#take())) return null;
    try {
      return await work(this.#db);
    } catch (error) {
      await this.release();
      throw error;
    }
  }

  async release(): Promise<void> {
    if (this.#heldUntil === 0) return;
    this.#heldUntil = 0;
    await this.#db.run('update outbox_relay_lock set holder = null, expires_at = null where id = 1 and holder = ?', [
      this.#holder,
    ]);
  }

  async #take(): Promise<boolean> {
    const now = Date.now();
    if (this.#heldUntil - now > ExpiringLease.ttlMs / 2) return true;
    const until = new Date(now + ExpiringLease.ttlMs);
    const taken = await this.#db.run(
      'update outbox_relay_lock set holder = ?, expires_at = ? ' +
        'where id = 1 and (holder is null or holder = ? or expires_at < ?)',
      [this.#holder, until, this.#holder, new Date(now)],
    );
    this.#heldUntil = taken === 1 ? until.getTime() : 0;
    if (taken === 1) return true;
    const lease = await this.#db.get('select holder from outbox_relay_lock where id = 1');
    if (!lease) throw missingLeaseRow();
    return typeof lease.holder === 'string' && isDeadHereProcess(lease.holder) && this.#takeFrom(lease.holder, until);
  }

  async #takeFrom(deadHolder: string, until: Date): Promise<boolean> {
    const taken = await this.#db.run(
      'update outbox_relay_lock set holder = ?, expires_at = ? where id = 1 and holder = ?',
      [this.#holder, until, deadHolder],
    );
    this.#heldUntil = taken === 1 ? until.getTime() : 0;
    return taken === 1;
  }
}

/** True for a holder written as `host/pid/…` by a process of this host that is not running any more. */
function isDeadHereProcess(holder: string): boolean {
  const [host, pid] = holder.split('/');
  if (host !== hostname() || !/^\d+$/.test(pid ?? '')) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const missingLeaseRow = () =>
  new Error('outbox_relay_lock has no row: the database is not migrated to 0002-outbox-lease');
