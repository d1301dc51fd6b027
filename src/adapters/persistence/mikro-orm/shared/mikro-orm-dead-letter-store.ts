import type { MikroORM } from '@mikro-orm/core';
import type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterState,
  DeadLetterStore,
  StoredDeadLetter,
} from '../../../messaging/in-process/dead-letter-store.ts';
import { newId } from '../../../../shared/id.ts';
import type { EventEnvelope } from '../../../../shared/messaging/event-envelope.ts';
import { dateFrom, jsonFrom, nullableDateFrom, type SqlDatabase, type SqlRow, sqlDatabaseOf } from './sql.ts';

const COLUMNS =
  'id, topic, consumer_group, event_id, event_type, envelope, error_code, error, attempts, parked_at, replayed_at, discarded_at';

const APPEND = `insert into dead_letters (${COLUMNS}) ` + 'values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, null)';

/** Where a letter is in its life, as a condition on the row (the state is not a column: the times say it). */
const STATE_SQL: Record<DeadLetterState, string> = {
  parked: 'replayed_at is null and discarded_at is null',
  replayed: 'replayed_at is not null',
  discarded: 'discarded_at is not null',
};

/**
 * Dead letters in the `dead_letters` table of the database of the module that owns the consumer group.
 * A letter is one row, written (committed) before the bus moves on; replaying or discarding it sets a
 * time once (`… where replayed_at is null and discarded_at is null`), so either is idempotent and the
 * row stays for audit. The envelope is kept as published (the events carry no secret; the table sits
 * with the module's own data, under the same access).
 */
export class MikroOrmDeadLetterStore implements DeadLetterStore {
  readonly #db: SqlDatabase;

  constructor(orm: MikroORM) {
    this.#db = sqlDatabaseOf(orm);
  }

  async append(letter: DeadLetter): Promise<void> {
    const { event } = letter;
    await this.#db.run(APPEND, [
      newId(),
      letter.topic,
      letter.group,
      event.id,
      event.type,
      JSON.stringify(event),
      letter.code ?? null,
      letter.error,
      letter.attempts,
      new Date(letter.parkedAt),
    ]);
  }

  async read(): Promise<DeadLetter[]> {
    return (await this.list()).map(({ id: _id, state: _state, settledAt: _at, ...letter }) => letter);
  }

  async list(filter: DeadLetterFilter = {}): Promise<StoredDeadLetter[]> {
    const conditions: [string, string | undefined][] = [
      ['topic = ?', filter.topic],
      ['consumer_group = ?', filter.group],
    ];
    const given = conditions.filter((c): c is [string, string] => c[1] !== undefined);
    const where = given.map(([sql]) => sql);
    const params = given.map(([, value]) => value);
    if (filter.state !== undefined) where.push(STATE_SQL[filter.state]);
    const limit = filter.limit === undefined ? '' : ` limit ${Math.max(0, Math.trunc(filter.limit))}`;
    const sql =
      `select ${COLUMNS} from dead_letters` +
      (where.length > 0 ? ` where ${where.join(' and ')}` : '') +
      ` order by parked_at, id${limit}`;
    return (await this.#db.all(sql, params)).map(toLetter);
  }

  async get(id: string): Promise<StoredDeadLetter | undefined> {
    const row = await this.#db.get(`select ${COLUMNS} from dead_letters where id = ?`, [id]);
    return row && toLetter(row);
  }

  async settle(id: string, state: Exclude<DeadLetterState, 'parked'>, at: Date): Promise<boolean> {
    const column = state === 'replayed' ? 'replayed_at' : 'discarded_at';
    const changed = await this.#db.run(`update dead_letters set ${column} = ? where id = ? and ${STATE_SQL.parked}`, [
      at,
      id,
    ]);
    return changed > 0;
  }
}

function toLetter(row: SqlRow): StoredDeadLetter {
  const replayedAt = nullableDateFrom(row.replayed_at);
  const discardedAt = nullableDateFrom(row.discarded_at);
  const code = row.error_code === null || row.error_code === undefined ? {} : { code: String(row.error_code) };
  return {
    id: String(row.id),
    topic: String(row.topic),
    group: String(row.consumer_group),
    error: String(row.error),
    ...code,
    attempts: Number(row.attempts),
    parkedAt: dateFrom(row.parked_at).toISOString(),
    event: jsonFrom<EventEnvelope>(row.envelope),
    state: replayedAt ? 'replayed' : discardedAt ? 'discarded' : 'parked',
    settledAt: (replayedAt ?? discardedAt)?.toISOString() ?? null,
  };
}
