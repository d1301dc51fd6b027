/**
 * How a relay holds its database's outbox lease while it publishes, one strategy per dialect. Either
 * way a second relay on the same database (another instance of the service) gets nothing until the
 * first has published and marked its batch, so rows go out once per burst and in commit order.
 */
import { randomUUID } from 'node:crypto';
import { type EntityManager, IsolationLevel, LockMode, type MikroORM } from '@mikro-orm/core';
import { BaseMySqlPlatform } from '@mikro-orm/sql';
import { OutboxRelayLockSchema } from './outbox.schema.ts';

/** Runs `work` while holding the lease, on the entity manager the batch must be read and marked with. */
export interface OutboxLease {
  /** Resolves null, without running `work`, while another relay holds the lease. */
  hold<T>(work: (em: EntityManager) => Promise<T>): Promise<T | null>;
}

export function outboxLeaseFor(orm: MikroORM): OutboxLease {
  return orm.em.getPlatform() instanceof BaseMySqlPlatform ? new RowLockLease(orm) : new ExpiringLease(orm);
}

/**
 * MySQL/MariaDB: the lease row is locked FOR UPDATE SKIP LOCKED in a transaction that also reads the
 * batch and marks it, and commits after publishing. A relay that dies mid-publish loses its connection
 * and with it the lock, so the next relay takes over at once (its batch goes out again: at least once).
 * READ COMMITTED so the batch read sees what the previous holder marked just before it committed.
 */
class RowLockLease implements OutboxLease {
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  async hold<T>(work: (em: EntityManager) => Promise<T>): Promise<T | null> {
    return this.#orm.em.fork().transactional(
      async (em) => {
        const lock = await em.find(
          OutboxRelayLockSchema,
          { id: 1 },
          { lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE, disableIdentityMap: true },
        );
        if (lock.length === 1) return work(em);
        if ((await em.count(OutboxRelayLockSchema, { id: 1 })) === 0) throw missingLeaseRow();
        return null; // locked by another relay
      },
      { isolationLevel: IsolationLevel.READ_COMMITTED },
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
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  async hold<T>(work: (em: EntityManager) => Promise<T>): Promise<T | null> {
    const em = this.#orm.em.fork();
    const holder = randomUUID();
    const now = new Date();
    const taken = await em.nativeUpdate(
      OutboxRelayLockSchema,
      { id: 1, $or: [{ holder: null }, { expiresAt: { $lt: now } }] },
      { holder, expiresAt: new Date(now.getTime() + ExpiringLease.ttlMs) },
    );
    if (taken !== 1) {
      if ((await em.count(OutboxRelayLockSchema, { id: 1 })) === 0) throw missingLeaseRow();
      return null;
    }
    try {
      return await work(em);
    } finally {
      await em.nativeUpdate(OutboxRelayLockSchema, { id: 1, holder }, { holder: null, expiresAt: null });
    }
  }
}

const missingLeaseRow = () =>
  new Error('outbox_relay_lock has no row: the database is not migrated to 0002-outbox-lease');
