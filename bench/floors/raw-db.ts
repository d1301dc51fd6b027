/**
 * A module database reached through its driver and nothing else (no ORM, no query builder): `libsql` on
 * a SQLite file (the driver @mikro-orm/libsql itself uses) or `mysql2` on MySQL/MariaDB (the driver under
 * @mikro-orm/mysql). The floors in this folder write and read through it; the tables come from the
 * project's own migrations (scratch.ts).
 */
import Database from 'libsql';
import mysql from 'mysql2';
import type { Storage } from '../../src/adapters/persistence/mikro-orm/orm.ts';

export type Row = Record<string, unknown>;

export interface Statements {
  /** Resolves to the number of rows changed. */
  run(sql: string, params: readonly unknown[]): Promise<number>;
  get(sql: string, params: readonly unknown[]): Promise<Row | undefined>;
  all(sql: string, params: readonly unknown[]): Promise<Row[]>;
}

export interface RawDatabase extends Statements {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Statements) => Promise<T>): Promise<T>;
  /** A timestamp as the project stores it: epoch milliseconds on SQLite (as MikroORM writes them), datetime(3) on MySQL. */
  time(date: Date): unknown;
  /** Write transactions committed so far (explicit ones and single writing statements). */
  readonly commits: number;
  /** Transactions that lost a deadlock and were run again (MySQL). */
  readonly retries: number;
  close(): Promise<void>;
}

export function openRawDatabase(storage: Storage, location: string, poolSize = 10): RawDatabase {
  return storage === 'sqlite' ? new SqliteDatabase(location) : new MysqlDatabase(location, poolSize);
}

/**
 * One connection, as MikroORM keeps for a SQLite file, with the pragmas src/adapters/persistence/mikro-orm/orm.ts
 * sets (WAL, synchronous=normal: a commit appends to the WAL without an fsync). The driver is synchronous,
 * so a transaction never interleaves with another caller's statements as long as callers take turns: every
 * statement and transaction goes through one queue.
 */
class SqliteDatabase implements RawDatabase {
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  #turn: Promise<unknown> = Promise.resolve();
  commits = 0;
  readonly retries = 0;

  constructor(file: string) {
    this.#db = new Database(file);
    for (const pragma of ['journal_mode = wal', 'busy_timeout = 5000', 'foreign_keys = on', 'synchronous = normal'])
      this.#db.pragma(pragma);
  }

  readonly #direct: Statements = {
    run: async (sql, params) => this.#prepared(sql).run(...params).changes,
    get: async (sql, params) => this.#prepared(sql).get(...params) as Row | undefined,
    all: async (sql, params) => this.#prepared(sql).all(...params) as Row[],
  };

  run(sql: string, params: readonly unknown[]): Promise<number> {
    return this.#inTurn(async () => {
      const changes = await this.#direct.run(sql, params);
      if (changes > 0) this.commits++;
      return changes;
    });
  }

  get(sql: string, params: readonly unknown[]): Promise<Row | undefined> {
    return this.#inTurn(() => this.#direct.get(sql, params));
  }

  all(sql: string, params: readonly unknown[]): Promise<Row[]> {
    return this.#inTurn(() => this.#direct.all(sql, params));
  }

  transaction<T>(work: (tx: Statements) => Promise<T>): Promise<T> {
    return this.#inTurn(async () => {
      this.#prepared('begin').run();
      try {
        const result = await work(this.#direct);
        this.#prepared('commit').run();
        this.commits++;
        return result;
      } catch (error) {
        this.#prepared('rollback').run();
        throw error;
      }
    });
  }

  time(date: Date): unknown {
    return date.getTime();
  }

  async close(): Promise<void> {
    await this.#turn.catch(() => undefined);
    this.#db.close();
  }

  #inTurn<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#turn.then(work, work);
    this.#turn = next.catch(() => undefined);
    return next;
  }

  #prepared(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) this.#statements.set(sql, (statement = this.#db.prepare(sql)));
    return statement;
  }
}

/**
 * A pool of `poolSize` connections (the project's dbPoolSize default is 10), prepared statements, UTC.
 * mysql2's callback API, as MikroORM's query builder drives it: its promise wrapper captures a stack trace
 * per call. A statement or transaction that loses a deadlock is run again, a few times at most.
 */
class MysqlDatabase implements RawDatabase {
  static readonly deadlockAttempts = 5;
  readonly #pool: mysql.Pool;
  readonly #pooled: Statements;
  commits = 0;
  retries = 0;

  constructor(url: string, poolSize: number) {
    this.#pool = mysql.createPool({ uri: url, connectionLimit: poolSize, timezone: 'Z' });
    this.#pooled = statementsOn(this.#pool);
  }

  async run(sql: string, params: readonly unknown[]): Promise<number> {
    const changes = await this.#retried(() => this.#pooled.run(sql, params));
    if (changes > 0) this.commits++;
    return changes;
  }

  get(sql: string, params: readonly unknown[]): Promise<Row | undefined> {
    return this.#pooled.get(sql, params);
  }

  all(sql: string, params: readonly unknown[]): Promise<Row[]> {
    return this.#pooled.all(sql, params);
  }

  async transaction<T>(work: (tx: Statements) => Promise<T>): Promise<T> {
    const connection = await promised<mysql.PoolConnection>((done) => this.#pool.getConnection(done));
    const tx = statementsOn(connection);
    try {
      return await this.#retried(async () => {
        await promised((done) => connection.beginTransaction(done));
        try {
          const result = await work(tx);
          await promised((done) => connection.commit(done));
          this.commits++;
          return result;
        } catch (error) {
          await promised((done) => connection.rollback(done));
          throw error;
        }
      });
    } finally {
      connection.release();
    }
  }

  time(date: Date): unknown {
    return date;
  }

  close(): Promise<void> {
    return promised((done) => this.#pool.end(done));
  }

  async #retried<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if ((error as { errno?: number }).errno !== ER_LOCK_DEADLOCK || attempt >= MysqlDatabase.deadlockAttempts)
          throw error;
        this.retries++;
      }
    }
  }
}

const ER_LOCK_DEADLOCK = 1213;

type Callback<T> = (error: Error | null, value?: T) => void;

function promised<T = void>(call: (done: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => call((error, value) => (error ? reject(error) : resolve(value as T))));
}

function statementsOn(on: Pick<mysql.Pool, 'execute'>): Statements {
  const execute = (sql: string, params: readonly unknown[]) =>
    promised<unknown>((done) =>
      on.execute(sql, params as mysql.ExecuteValues[], (error, result) => done(error, result)),
    );
  return {
    run: async (sql, params) => ((await execute(sql, params)) as mysql.ResultSetHeader).affectedRows,
    get: async (sql, params) => ((await execute(sql, params)) as Row[])[0],
    all: async (sql, params) => (await execute(sql, params)) as Row[],
  };
}
