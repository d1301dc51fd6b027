import type { MikroORM } from '@mikro-orm/core';
import type { ApiKeyRepository } from '../../../../modules/access/application/ports/api-key-repository.port.ts';
import { ApiKey, type ApiKeyRole } from '../../../../modules/access/domain/api-key.ts';
import type { PageRequest } from '../../../../shared/page.ts';
import { dateFrom, nullableDateFrom, type SqlDatabase, sqlDatabaseOf, type SqlRow, whereOf } from '../shared/sql.ts';

const COLUMNS =
  'id, name, role, prefix, start_chars, end_chars, hash, created_at, expires_at, revoked_at, last_used_at, ' +
  'rate_limit_per_minute, grace_until, rolled_to';

const toDomain = (row: SqlRow) =>
  ApiKey.restore({
    id: String(row.id),
    name: String(row.name),
    role: String(row.role) as ApiKeyRole,
    prefix: String(row.prefix),
    start: String(row.start_chars),
    end: String(row.end_chars),
    hash: String(row.hash),
    createdAt: dateFrom(row.created_at),
    expiresAt: nullableDateFrom(row.expires_at),
    revokedAt: nullableDateFrom(row.revoked_at),
    lastUsedAt: nullableDateFrom(row.last_used_at),
    rateLimitPerMinute: row.rate_limit_per_minute === null ? null : Number(row.rate_limit_per_minute),
    graceUntil: nullableDateFrom(row.grace_until),
    rolledTo: row.rolled_to === null ? null : String(row.rolled_to),
  });

/** access_db's api_keys through MikroORM's connection, in prepared statements. */
export class MikroOrmApiKeyRepository implements ApiKeyRepository {
  readonly #db: SqlDatabase;

  constructor(orm: MikroORM) {
    this.#db = sqlDatabaseOf(orm);
  }

  async insert(key: ApiKey, db: Pick<SqlDatabase, 'run'> = this.#db): Promise<void> {
    const p = key.toProps();
    await db.run(`insert into api_keys (${COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      p.id,
      p.name,
      p.role,
      p.prefix,
      p.start,
      p.end,
      p.hash,
      p.createdAt,
      p.expiresAt,
      p.revokedAt,
      p.lastUsedAt,
      p.rateLimitPerMinute,
      p.graceUntil,
      p.rolledTo,
    ]);
  }

  async findById(id: string) {
    const row = await this.#db.get(`select ${COLUMNS} from api_keys where id = ?`, [id]);
    return row ? toDomain(row) : null;
  }

  async findByHash(hash: string) {
    const row = await this.#db.get(`select ${COLUMNS} from api_keys where hash = ?`, [hash]);
    return row ? toDomain(row) : null;
  }

  async list(page: PageRequest) {
    const filter = whereOf(page.after && ['id > ?', page.after]);
    const rows = await this.#db.all(
      `select ${COLUMNS} from api_keys ${filter.sql} order by id limit ${Math.trunc(page.limit)}`,
      filter.params,
    );
    return rows.map(toDomain);
  }

  async saveRevocation(key: ApiKey) {
    const changed = await this.#db.run('update api_keys set revoked_at = coalesce(revoked_at, ?) where id = ?', [
      key.toProps().revokedAt,
      key.id,
    ]);
    return changed === 1;
  }

  async saveRoll(rolled: ApiKey, successor: ApiKey) {
    const p = rolled.toProps();
    return this.#db.transaction(async (tx) => {
      const changed = await tx.run(
        'update api_keys set grace_until = ?, rolled_to = ? where id = ? and rolled_to is null and revoked_at is null',
        [p.graceUntil, p.rolledTo, p.id],
      );
      if (changed !== 1) return false;
      await this.insert(successor, tx);
      return true;
    });
  }

  async recordUse(uses: ReadonlyMap<string, Date>) {
    let changed = 0;
    for (const [id, at] of uses) {
      changed += await this.#db.run(
        'update api_keys set last_used_at = ? where id = ? and (last_used_at is null or last_used_at < ?)',
        [at, id, at],
      );
    }
    return changed;
  }
}
