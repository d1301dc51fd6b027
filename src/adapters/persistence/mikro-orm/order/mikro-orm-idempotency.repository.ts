import { UniqueConstraintViolationException } from '@mikro-orm/core';
import {
  IDEMPOTENCY_KEY_TAKEN,
  type IdempotencyRecord,
  type IdempotencyRepository,
  type PlacementMode,
} from '../../../../modules/order/application/ports/order-persistence.port.ts';
import { DomainError } from '../../../../shared/domain-error.ts';
import { dateFrom, type Sql } from '../shared/sql.ts';

export class MikroOrmIdempotencyRepository implements IdempotencyRepository {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async find(customerId: string, key: string): Promise<IdempotencyRecord | null> {
    const row = await this.#sql.get(
      'select request_hash, order_id, mode, created_at from idempotency_keys where customer_id = ? and idem_key = ?',
      [customerId, key],
    );
    if (!row) return null;
    return {
      customerId,
      key,
      requestHash: String(row.request_hash),
      orderId: String(row.order_id),
      mode: row.mode as PlacementMode,
      createdAt: dateFrom(row.created_at),
    };
  }

  async insert(record: IdempotencyRecord): Promise<void> {
    try {
      await this.#sql.run(
        'insert into idempotency_keys (customer_id, idem_key, request_hash, order_id, mode, created_at) ' +
          'values (?, ?, ?, ?, ?, ?)',
        [record.customerId, record.key, record.requestHash, record.orderId, record.mode, record.createdAt],
      );
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new DomainError('conflict', IDEMPOTENCY_KEY_TAKEN, `Idempotency-Key ${record.key} is taken`);
      }
      throw error;
    }
  }
}
