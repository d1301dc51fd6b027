/**
 * How a relay holds its database's outbox lease while it publishes, one strategy per dialect. Either
 * way a second relay on the same database (another instance of the service) gets nothing until the
 * first has published and marked its batch, so rows go out once per burst and in commit order.
 */
import { randomUUID } from 'node:crypto';
import type { Sql, SqlDatabase } from './sql.ts';

/** Runs `work` while holding the lease, on the statements the batch must be read and marked with. */
export interface OutboxLease {
  /** Resolves null, without running `work`, while another relay holds the lease. */
  hold<T>(work: (tx: Sql) => Promise<T>): Promise<T | null>;
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
}

/**
 * SQLite: a transaction would hold the file's single write lock (and block every writer) while the
 * relay publishes, so the row records a holder and an expiry instead, taken and released by
 * conditional updates. The expiry only matters when a process died holding it.
 */
class ExpiringLease implements OutboxLease {
  static readonly ttlMs = 30_000;
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async hold<T>(work: (tx: Sql) => Promise<T>): Promise<T | null> {
    const holder = randomUUID();
    const now = new Date();
    const taken = await this.#db.run(
      'update outbox_relay_lock set holder = ?, expires_at = ? where id = 1 and (holder is null or expires_at < ?)',
      [holder, new Date(now.getTime() + ExpiringLease.ttlMs), now],
    );
    if (taken !== 1) {
      if (!(await this.#db.get('select id from outbox_relay_lock where id = 1'))) throw missingLeaseRow();
      return null;
    }
    try {
      return await work(this.#db);
    } finally {
      await this.#db.run('update outbox_relay_lock set holder = null, expires_at = null where id = 1 and holder = ?', [
        holder,
      ]);
    }
  }
}

const missingLeaseRow = () =>
  new Error('outbox_relay_lock has no row: the database is not migrated to 0002-outbox-lease');
