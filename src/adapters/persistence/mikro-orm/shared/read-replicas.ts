/**
 * Read replicas of a MySQL/MariaDB database (MikroORM's `replicas`): which one may serve a read, how a read
 * that must see a write waits for it, and how far behind they are. MariaDB GTIDs are the positions:
 * `domain-server-seq[,…]`, one per replication domain; a replica has applied a position when, in every
 * domain of it, its own sequence number is at least as high.
 */

/** How each read went: a replica served it (after waiting for a position: `waited`), or the primary did. */
export type ReplicaReadOutcome = 'replica' | 'waited' | 'primary_fallback' | 'replica_down';

export interface ReplicaObserver {
  read(outcome: ReplicaReadOutcome): void;
  /** Once per outage of a replica: its first failed read since it last answered. */
  down(replica: string, error: Error): void;
  /** The first read a replica served after an outage. */
  up(replica: string): void;
}

export const noReplicaObserver: ReplicaObserver = { read() {}, down() {}, up() {} };

/** How long a read carrying a position waits for the replica to reach it before it goes to the primary. */
export const READ_AFTER_WAIT_SECONDS = 0.05;

/** After a replica failed, reads skip it (straight to the primary) this long before trying it again. */
export const REPLICA_RETRY_MS = 1_000;

const GTID = /^\d{1,10}-\d{1,10}-\d{1,20}$/;
const MAX_DOMAINS = 32;

/** A GTID position as the API carries it: `domain-server-seq`, comma-separated, one per domain; else false. */
export function isGtidPosition(value: string): boolean {
  if (value.length === 0 || value.length > 1024) return false;
  const parts = value.split(',');
  return parts.length <= MAX_DOMAINS && parts.every((p) => GTID.test(p));
}

type Position = Map<string, bigint>;

/** Domain → highest sequence number; `''` (no transaction yet) is the empty position. */
export function parsePosition(value: string): Position {
  const position: Position = new Map();
  for (const part of value.split(',')) {
    const gtid = part.trim();
    if (!GTID.test(gtid)) continue;
    const [domain, , seq] = gtid.split('-') as [string, string, string];
    const n = BigInt(seq);
    if ((position.get(domain) ?? -1n) < n) position.set(domain, n);
  }
  return position;
}

/** Whether `applied` has every transaction up to `target`. */
export function reached(applied: Position, target: Position): boolean {
  for (const [domain, seq] of target) if ((applied.get(domain) ?? -1n) < seq) return false;
  return true;
}

/**
 * How stale a replica is, in seconds: the age of the oldest primary position it has not applied, where a
 * position's age counts from when this process first saw it (a commit of its own, or a sample of the
 * primary at scrape time). 0 when it has everything. Seconds_Behind_Master would need a privilege the
 * module's user does not have, and it is NULL exactly when it matters most: while the SQL thread is stopped.
 */
export class ReplicaLagClock {
  #seen: { position: Position; at: number }[] = [];

  sawPrimary(value: string, at = Date.now()): void {
    const position = parsePosition(value);
    const last = this.#seen.at(-1);
    if (last && reached(last.position, position)) return;
    this.#seen.push({ position, at });
    if (this.#seen.length > 1_000) this.#seen.shift();
  }

  /** The lag of the replica furthest behind, of those whose applied positions (`@@gtid_slave_pos`) are given. */
  lagSeconds(replicas: readonly string[], now = Date.now()): number {
    const firstMissing = replicas.map((r) => {
      const applied = parsePosition(r);
      const i = this.#seen.findIndex((s) => !reached(applied, s.position));
      return i < 0 ? this.#seen.length : i;
    });
    const oldest = Math.min(...firstMissing);
    const lag = oldest < this.#seen.length ? Math.max(0, (now - this.#seen[oldest]!.at) / 1000) : 0;
    // What every replica has applied is history, but the newest one stays: the next sample compares to it.
    this.#seen = this.#seen.slice(Math.min(oldest, this.#seen.length - 1));
    return lag;
  }
}

/** Whether an error says the server could not be reached or dropped the connection (not a statement error). */
export function isConnectionFailure(error: unknown): boolean {
  const e = error as { fatal?: boolean; code?: string; errno?: number; cause?: unknown };
  if (e?.fatal === true) return true;
  if (typeof e?.code === 'string' && /^(E[A-Z]+|PROTOCOL_|ER_CON_COUNT|ER_ACCESS_DENIED|ER_DBACCESS)/.test(e.code)) {
    return true;
  }
  return e?.cause !== undefined && e.cause !== error && isConnectionFailure(e.cause);
}

/** Per replica: whether it is in an outage and when to try it again. */
export class ReplicaHealth {
  readonly #downUntil = new Map<string, number>();
  readonly #observer: () => ReplicaObserver;

  constructor(observer: () => ReplicaObserver) {
    this.#observer = observer;
  }

  /** False while a replica that failed is left alone (REPLICA_RETRY_MS after its last failure). */
  usable(replica: string, now = Date.now()): boolean {
    return (this.#downUntil.get(replica) ?? 0) <= now;
  }

  failed(replica: string, error: Error, now = Date.now()): void {
    if (!this.#downUntil.has(replica)) this.#observer().down(replica, error);
    this.#downUntil.set(replica, now + REPLICA_RETRY_MS);
  }

  served(replica: string): void {
    if (this.#downUntil.delete(replica)) this.#observer().up(replica);
  }
}
