/**
 * Hand-written SQL through the connection MikroORM opened: prepared statements, bound parameters, and the
 * ORM's own exception types. The repositories speak it because the entity manager costs 100–170 µs of
 * CPU per statement (query building, criteria processing, hydration; SQLite statements prepared anew)
 * against 10–35 µs here, and an order takes ~20 statements (docs/performance.md). MikroORM still owns
 * the connection and pool, the dialect settings (UTC, TLS), the migrations and error translation.
 */
import type { MikroORM } from '@mikro-orm/core';
import { BaseMySqlPlatform } from '@mikro-orm/sql';
import { inChildSpan } from '../../../tracing/spans.ts';
import {
  isConnectionFailure,
  isGtidPosition,
  noReplicaObserver,
  READ_AFTER_WAIT_SECONDS,
  ReplicaHealth,
  ReplicaLagClock,
  type ReplicaObserver,
  type ReplicaReadOutcome,
} from './read-replicas.ts';

/** A value bound to a `?` placeholder; dates and booleans are stored as each dialect stores them. */
export type SqlValue = string | number | boolean | null | Date;
export type SqlRow = Record<string, unknown>;

export interface Sql {
  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  get(sql: string, params?: readonly SqlValue[]): Promise<SqlRow | undefined>;
  /** Resolves to the number of rows the statement changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface TransactionOptions {
  /** MySQL only; SQLite transactions are serializable. */
  readCommitted?: boolean;
  /**
   * MySQL with read replicas only: called after COMMIT with the transaction's GTID (`@@last_gtid` of the
   * connection), the position a later read must wait for to see this write (`reader(readAfter)`).
   */
  onCommitted?: (position: string) => void;
}

export interface SqlDatabase extends Sql {
  readonly dialect: 'sqlite' | 'mysql';
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Sql) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Runs `work` on one connection (session state such as named locks stays with it), no transaction. */
  session<T>(work: (session: Sql) => Promise<T>): Promise<T>;
  /**
   * Statements for a read that a read replica may serve (MySQL `replicas`, one picked per read as MikroORM
   * picks: at random). Only the repositories' plain reads outside a transaction ask for it; everything else
   * (writes, transactions, sessions, locking reads) goes to the primary. With `readAfter` (a position
   * `onCommitted` gave) the replica first waits up to READ_AFTER_WAIT_SECONDS to have applied it, else the
   * primary answers; a replica that fails or is in an outage leaves the read to the primary too. Without
   * replicas (and on SQLite) this is the database itself.
   */
  reader(readAfter?: string): Sql;
}

const opened = new WeakMap<MikroORM, SqlDatabase>();

/** The database behind `orm`, one per ORM so that every repository shares its prepared statements. */
export function sqlDatabaseOf(orm: MikroORM): SqlDatabase {
  let db = opened.get(orm);
  if (!db) {
    db = orm.em.getPlatform() instanceof BaseMySqlPlatform ? new MysqlDatabase(orm) : new SqliteDatabase(orm);
    opened.set(orm, db);
  }
  return db;
}

/**
 * A statement, as a client span of the trace in scope when spans are recorded (named like `SELECT order_db`;
 * the text has placeholders, never values).
 */
function traced<T>(system: 'mysql' | 'sqlite', namespace: string, sql: string, run: () => Promise<T>): Promise<T> {
  return inChildSpan('client', () => describeStatement(system, namespace, sql), run);
}

function describeStatement(system: string, namespace: string, sql: string) {
  const operation = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';
  return {
    name: `${operation} ${namespace}`,
    attributes: {
      'db.system.name': system,
      'db.namespace': namespace,
      'db.operation.name': operation,
      'db.query.text': sql,
    },
  };
}

const namespaceOf = (orm: MikroORM): string => String(orm.config.get('dbName') ?? 'main');

/** A stored time back as a Date: epoch milliseconds on SQLite, a UTC 'YYYY-MM-DD hh:mm:ss.fff' string on MySQL. */
export function dateFrom(value: unknown): Date {
  if (typeof value === 'number' || typeof value === 'bigint') return new Date(Number(value));
  if (typeof value === 'string') return new Date(/^\d+$/.test(value) ? Number(value) : `${value.replace(' ', 'T')}Z`);
  if (value instanceof Date) return value;
  throw new TypeError(`not a stored time: ${String(value)}`);
}

export const nullableDateFrom = (value: unknown): Date | null =>
  value === null || value === undefined ? null : dateFrom(value);

/** A JSON column's value: text on SQLite and MariaDB (mysql2 is asked for JSON as text), parsed here. */
export function jsonFrom<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

type Convert = (error: Error) => Error;

function converterOf(orm: MikroORM): Convert {
  const driver = orm.em.getDriver();
  return (error) => driver.convertException(error);
}

interface LibsqlStatement {
  reader: boolean;
  all(params: readonly unknown[]): SqlRow[];
  get(params: readonly unknown[]): SqlRow | undefined;
  run(params: readonly unknown[]): { changes: number };
}
interface LibsqlDatabase {
  prepare(sql: string): LibsqlStatement;
}

/**
 * SQLite through the `libsql` handle of MikroORM's single connection. The driver is synchronous; what
 * keeps a transaction's statements together is that work on the connection takes turns: each statement
 * or transaction waits for the one before. Once the database is migrated (MikroORM's migrator runs
 * before anything else), the repositories, the relay and the health check all go through here.
 */
class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  readonly #orm: MikroORM;
  readonly #convert: Convert;
  readonly #statements = new Map<string, LibsqlStatement>();
  readonly #namespace: string;
  #native: LibsqlDatabase | undefined;
  #turn: Promise<unknown> = Promise.resolve();

  constructor(orm: MikroORM) {
    this.#orm = orm;
    this.#convert = converterOf(orm);
    this.#namespace = namespaceOf(orm);
  }

  all(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    return this.#withConnection((tx) => tx.all(sql, params));
  }

  get(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow | undefined> {
    return this.#withConnection((tx) => tx.get(sql, params));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#withConnection((tx) => tx.run(sql, params));
  }

  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    return this.#withConnection(async (tx) => {
      // IMMEDIATE takes the write lock now: a second process on the file waits (busy_timeout) here, not mid-way.
      await tx.run('begin immediate');
      try {
        const result = await work(tx);
        await tx.run('commit');
        return result;
      } catch (error) {
        await tx.run('rollback');
        throw error;
      }
    });
  }

  session<T>(work: (session: Sql) => Promise<T>): Promise<T> {
    return this.#withConnection(work);
  }

  reader(): Sql {
    return this;
  }

  async #withConnection<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    const native = this.#native ?? (await this.#open());
    const ns = this.#namespace;
    const tx: Sql = {
      all: (sql, params = []) =>
        traced('sqlite', ns, sql, async () => this.#call(() => this.#prepared(native, sql).all(bind(params)))),
      get: (sql, params = []) =>
        traced('sqlite', ns, sql, async () => this.#call(() => this.#prepared(native, sql).get(bind(params)))),
      run: (sql, params = []) =>
        traced('sqlite', ns, sql, async () => this.#call(() => this.#prepared(native, sql).run(bind(params)).changes)),
    };
    const next = this.#turn.then(
      () => work(tx),
      () => work(tx),
    );
    this.#turn = next.catch(() => undefined);
    return next;
  }

  async #open(): Promise<LibsqlDatabase> {
    const connection = this.#orm.em.getConnection() as unknown as { getNativeClient(): Promise<LibsqlDatabase> };
    return (this.#native = await connection.getNativeClient());
  }

  #prepared(native: LibsqlDatabase, sql: string): LibsqlStatement {
    let statement = this.#statements.get(sql);
    if (!statement) this.#statements.set(sql, (statement = native.prepare(sql)));
    return statement;
  }

  #call<T>(statement: () => T): T {
    try {
      return statement();
    } catch (error) {
      throw this.#convert(error as Error);
    }
  }
}

/** SQLite stores our times as epoch milliseconds (as MikroORM writes them) and has no booleans. */
function bind(params: readonly SqlValue[]): unknown[] {
  return params.map((p) => (p instanceof Date ? p.getTime() : typeof p === 'boolean' ? Number(p) : p));
}

interface MysqlResult {
  affectedRows?: number;
}
type Callback<T> = (error: Error | null, value?: T) => void;
interface MysqlConnection {
  execute(sql: string, params: unknown[], done: Callback<SqlRow[] | MysqlResult>): void;
  query(sql: string, done: Callback<unknown>): void;
  release(): void;
}
interface MysqlPool {
  getConnection(done: Callback<MysqlConnection>): void;
  execute(sql: string, params: unknown[], done: Callback<SqlRow[] | MysqlResult>): void;
}
interface NativeConnection {
  getNativeClient(): Promise<MysqlPool>;
}
/** What a driver with `replicas` keeps: MikroORM picks one per `getConnection('read')`, the list is not public. */
interface WithReplicas {
  replicas?: NativeConnection[];
}

/** Tells `orm`'s database how its replica reads go (a metric, a log line per outage). */
export function observeReplicas(orm: MikroORM, observer: ReplicaObserver): void {
  const db = sqlDatabaseOf(orm);
  if (db instanceof MysqlDatabase) db.replicaObserver = observer;
}

/** Whether `orm` was opened with read replicas. */
export const hasReplicas = (orm: MikroORM): boolean => replicasOf(orm).length > 0;

const replicasOf = (orm: MikroORM): NativeConnection[] =>
  (orm.em.getDriver() as unknown as WithReplicas).replicas ?? [];

/**
 * How stale the replicas are (the one furthest behind), sampled now: `@@gtid_binlog_pos` of the primary and
 * `@@gtid_slave_pos` of each replica that answers (see ReplicaLagClock); null when none answers.
 */
export function replicaLagSeconds(orm: MikroORM): Promise<number | null> {
  const db = sqlDatabaseOf(orm);
  return db instanceof MysqlDatabase ? db.replicaLagSeconds() : Promise.resolve(null);
}

const ER_LOCK_DEADLOCK = 1213;
const DEADLOCK_ATTEMPTS = 4;

/**
 * MySQL/MariaDB through the mysql2 pool of MikroORM's connection (its settings: UTC, dates as strings,
 * JSON as text, TLS). Statements are prepared once per pooled connection (mysql2 caches them). A
 * transaction that loses a deadlock is rolled back by the server and run again from the start: `work`
 * touches nothing but the transaction, so running it again is safe.
 */
class MysqlDatabase implements SqlDatabase {
  readonly dialect = 'mysql' as const;
  readonly #orm: MikroORM;
  readonly #convert: Convert;
  readonly #namespace: string;
  #pool: MysqlPool | undefined;
  readonly #replicas: ReadonlyMap<NativeConnection, string>;
  readonly #health = new ReplicaHealth(() => this.replicaObserver);
  readonly #lag = new ReplicaLagClock();
  replicaObserver: ReplicaObserver = noReplicaObserver;

  constructor(orm: MikroORM) {
    this.#orm = orm;
    this.#convert = converterOf(orm);
    this.#namespace = namespaceOf(orm);
    this.#replicas = new Map(replicasOf(orm).map((r, i) => [r, `replica-${i + 1}`]));
  }

  reader(readAfter?: string): Sql {
    if (this.#replicas.size === 0) return this;
    const all = (sql: string, params: readonly SqlValue[] = []) => this.#replicaRead(sql, params, readAfter);
    return {
      all,
      get: async (sql, params) => (await all(sql, params))[0],
      run: (sql, params) => this.run(sql, params),
    };
  }

  /** One read on the replica MikroORM picks, or on the primary when it cannot (see `reader`). */
  async #replicaRead(sql: string, params: readonly SqlValue[], readAfter?: string): Promise<SqlRow[]> {
    const observer = this.replicaObserver;
    const primary = async (outcome: ReplicaReadOutcome) => {
      observer.read(outcome);
      return this.all(sql, params);
    };
    if (readAfter !== undefined && !isGtidPosition(readAfter)) return primary('primary_fallback');
    const replica = this.#orm.em.getConnection('read') as unknown as NativeConnection;
    const name = this.#replicas.get(replica);
    if (name === undefined) return primary('primary_fallback');
    if (!this.#health.usable(name)) return primary('replica_down');
    let rows: SqlRow[] | undefined;
    try {
      const pool = await replica.getNativeClient();
      rows =
        readAfter === undefined
          ? await this.#onReplica(pool, sql, params)
          : await this.#afterWait(pool, sql, params, readAfter);
    } catch (error) {
      if (!isConnectionFailure(error)) throw this.#convert(error as Error);
      this.#health.failed(name, error as Error);
      return primary('replica_down');
    }
    this.#health.served(name);
    if (rows === undefined) return primary('primary_fallback');
    observer.read(readAfter === undefined ? 'replica' : 'waited');
    return rows;
  }

  /** The read on one replica connection once it has applied `position`; undefined when it did not in time. */
  async #afterWait(pool: MysqlPool, sql: string, params: readonly SqlValue[], position: string) {
    const connection = await promised<MysqlConnection>((done) => pool.getConnection(done));
    try {
      const [wait] = (await this.#execute(connection, 'select master_gtid_wait(?, ?) as reached', [
        position,
        READ_AFTER_WAIT_SECONDS,
      ])) as SqlRow[];
      if (Number(wait?.reached) !== 0) return undefined;
      return (await this.#execute(connection, sql, params)) as SqlRow[];
    } finally {
      connection.release();
    }
  }

  #onReplica(pool: MysqlPool, sql: string, params: readonly SqlValue[]) {
    return traced('mysql', this.#namespace, sql, () =>
      promised<SqlRow[] | MysqlResult>((done) => pool.execute(sql, params.map(mysqlValue), done)),
    ) as Promise<SqlRow[]>;
  }

  async replicaLagSeconds(): Promise<number | null> {
    const primary = await this.get('select @@gtid_binlog_pos as pos');
    this.#lag.sawPrimary(String(primary?.pos ?? ''));
    const applied = await Promise.all(
      [...this.#replicas.keys()].map(async (replica) => {
        try {
          const pool = await replica.getNativeClient();
          const [row] = await this.#onReplica(pool, 'select @@gtid_slave_pos as pos', []);
          return String(row?.pos ?? '');
        } catch {
          return null;
        }
      }),
    );
    const answered = applied.filter((p): p is string => p !== null);
    return answered.length === 0 ? null : this.#lag.lagSeconds(answered);
  }

  async all(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    return (await this.#execute(await this.#poolOf(), sql, params)) as SqlRow[];
  }

  async get(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow | undefined> {
    return (await this.all(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return ((await this.#execute(await this.#poolOf(), sql, params)) as MysqlResult).affectedRows ?? 0;
  }

  transaction<T>(work: (tx: Sql) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.#onConnection(async (tx, connection) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#once(connection, tx, work, options);
        } catch (error) {
          if (attempt >= DEADLOCK_ATTEMPTS || !isDeadlock(error)) throw error;
        }
      }
    });
  }

  session<T>(work: (session: Sql) => Promise<T>): Promise<T> {
    return this.#onConnection(work);
  }

  async #onConnection<T>(work: (session: Sql, connection: MysqlConnection) => Promise<T>): Promise<T> {
    const pool = await this.#poolOf();
    const connection = await promised<MysqlConnection>((done) => pool.getConnection(done)).catch((e: Error) => {
      throw this.#convert(e);
    });
    const session: Sql = {
      all: async (sql, params = []) => (await this.#execute(connection, sql, params)) as SqlRow[],
      get: async (sql, params = []) => ((await this.#execute(connection, sql, params)) as SqlRow[])[0],
      run: async (sql, params = []) =>
        ((await this.#execute(connection, sql, params)) as MysqlResult).affectedRows ?? 0,
    };
    try {
      return await work(session, connection);
    } finally {
      connection.release();
    }
  }

  /** Transaction control goes by the text protocol: not every server prepares BEGIN and SET TRANSACTION. */
  async #once<T>(connection: MysqlConnection, tx: Sql, work: (tx: Sql) => Promise<T>, options: TransactionOptions) {
    const query = (sql: string) => promised<unknown>((done) => connection.query(sql, done));
    if (options.readCommitted) await query('set transaction isolation level read committed');
    await query('begin');
    try {
      const result = await work(tx);
      await query('commit');
      if (options.onCommitted && this.#replicas.size > 0) {
        const [row] = (await query('select @@last_gtid as gtid')) as SqlRow[];
        const position = String(row?.gtid ?? '');
        if (position !== '') {
          this.#lag.sawPrimary(position);
          options.onCommitted(position);
        }
      }
      return result;
    } catch (error) {
      await query('rollback').catch(() => undefined);
      throw error;
    }
  }

  #execute(on: Pick<MysqlPool, 'execute'>, sql: string, params: readonly SqlValue[]) {
    return traced('mysql', this.#namespace, sql, () =>
      promised<SqlRow[] | MysqlResult>((done) => on.execute(sql, params.map(mysqlValue), done)).catch(
        (error: Error) => {
          throw this.#convert(error);
        },
      ),
    );
  }

  async #poolOf(): Promise<MysqlPool> {
    if (this.#pool) return this.#pool;
    const connection = this.#orm.em.getConnection() as unknown as { getNativeClient(): Promise<MysqlPool> };
    return (this.#pool = await connection.getNativeClient());
  }
}

/** datetime(3) in UTC, as MikroORM stores it; booleans as 0/1. */
function mysqlValue(value: SqlValue): unknown {
  if (value instanceof Date) return value.toISOString().slice(0, 23).replace('T', ' ');
  if (typeof value === 'boolean') return Number(value);
  return value;
}

function isDeadlock(error: unknown): boolean {
  const cause = error as { errno?: number; cause?: { errno?: number } };
  return cause.errno === ER_LOCK_DEADLOCK || cause.cause?.errno === ER_LOCK_DEADLOCK;
}

function promised<T = void>(call: (done: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => call((error, value) => (error ? reject(error) : resolve(value as T))));
}

/** `?, ?, ?` for an `in (…)` list of `count` values. */
export const placeholders = (count: number) => Array.from({ length: count }, () => '?').join(', ');

type Condition = readonly [fragment: string, ...values: SqlValue[]];

/** `where a and b` from the conditions that apply (falsy ones do not), and the values of their `?`s in order. */
export function whereOf(...conditions: (Condition | false | '' | undefined)[]): { sql: string; params: SqlValue[] } {
  const applied = conditions.filter((c): c is Condition => Boolean(c));
  if (applied.length === 0) return { sql: '', params: [] };
  return {
    sql: `where ${applied.map(([fragment]) => fragment).join(' and ')}`,
    params: applied.flatMap(([, ...v]) => v),
  };
}
