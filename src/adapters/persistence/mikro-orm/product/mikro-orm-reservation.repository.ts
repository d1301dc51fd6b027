import { UniqueConstraintViolationException } from '@mikro-orm/core';
import {
  RESERVATION_EXISTS,
  type ReservationRepository,
} from '../../../../modules/product/application/ports/product-persistence.port.ts';
import type { ReservedLine } from '../../../../modules/product/domain/product.events.ts';
import type { Reservation, ReservationStatus } from '../../../../modules/product/domain/reservation.ts';
import { DomainError } from '../../../../shared/domain-error.ts';
import { dateFrom, jsonFrom, type Sql } from '../shared/sql.ts';

export class MikroOrmReservationRepository implements ReservationRepository {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async find(orderId: string): Promise<Reservation | null> {
    const row = await this.#sql.get(
      'select status, reason, `lines`, created_at, updated_at from reservations where order_id = ?',
      [orderId],
    );
    if (!row) return null;
    return {
      orderId,
      status: row.status as ReservationStatus,
      reason: (row.reason as string | null) ?? null,
      lines: jsonFrom<ReservedLine[]>(row.lines),
      createdAt: dateFrom(row.created_at),
      updatedAt: dateFrom(row.updated_at),
    };
  }

  async insert(r: Reservation): Promise<void> {
    try {
      await this.#sql.run(
        'insert into reservations (order_id, status, reason, `lines`, created_at, updated_at) values (?, ?, ?, ?, ?, ?)',
        [r.orderId, r.status, r.reason, JSON.stringify(r.lines), r.createdAt, r.updatedAt],
      );
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new DomainError('conflict', RESERVATION_EXISTS, `order ${r.orderId} has a reservation`);
      }
      throw error;
    }
  }

  async update(r: Reservation, expectedStatus: ReservationStatus): Promise<boolean> {
    const changed = await this.#sql.run(
      'update reservations set status = ?, reason = ?, `lines` = ?, created_at = ?, updated_at = ? ' +
        'where order_id = ? and status = ?',
      [r.status, r.reason, JSON.stringify(r.lines), r.createdAt, r.updatedAt, r.orderId, expectedStatus],
    );
    return changed === 1;
  }
}
