import { type EntityManager, UniqueConstraintViolationException } from '@mikro-orm/core';
import {
  IDEMPOTENCY_KEY_TAKEN,
  type IdempotencyRecord,
  type IdempotencyRepository,
  type PlacementMode,
} from '../../../../modules/order/application/ports/order-persistence.port.ts';
import { DomainError } from '../../../../shared/domain-error.ts';
import { IdempotencyKeySchema } from './order.schema.ts';

export class MikroOrmIdempotencyRepository implements IdempotencyRepository {
  readonly #em: EntityManager;

  constructor(em: EntityManager) {
    this.#em = em;
  }

  async find(customerId: string, key: string): Promise<IdempotencyRecord | null> {
    const row = await this.#em.findOne(IdempotencyKeySchema, { customerId, key }, { disableIdentityMap: true });
    return row ? { ...row, mode: row.mode as PlacementMode } : null;
  }

  async insert(record: IdempotencyRecord): Promise<void> {
    try {
      await this.#em.insert(IdempotencyKeySchema, record);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new DomainError('conflict', IDEMPOTENCY_KEY_TAKEN, `Idempotency-Key ${record.key} is taken`);
      }
      throw error;
    }
  }
}
