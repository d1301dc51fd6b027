import { type EntityManager, UniqueConstraintViolationException } from '@mikro-orm/core';
import {
  RESERVATION_EXISTS,
  type ReservationRepository,
} from '../../../../modules/product/application/ports/product-persistence.port.ts';
import type { Reservation, ReservationStatus } from '../../../../modules/product/domain/reservation.ts';
import { DomainError } from '../../../../shared/domain-error.ts';
import { ReservationSchema } from './product.schema.ts';

export class MikroOrmReservationRepository implements ReservationRepository {
  readonly #em: EntityManager;

  constructor(em: EntityManager) {
    this.#em = em;
  }

  async find(orderId: string): Promise<Reservation | null> {
    const row = await this.#em.findOne(ReservationSchema, { orderId }, { disableIdentityMap: true });
    return row ? { ...row, status: row.status as ReservationStatus, reason: row.reason ?? null } : null;
  }

  async insert(reservation: Reservation): Promise<void> {
    try {
      await this.#em.insert(ReservationSchema, reservation);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new DomainError('conflict', RESERVATION_EXISTS, `order ${reservation.orderId} has a reservation`);
      }
      throw error;
    }
  }

  async update(reservation: Reservation, expectedStatus: ReservationStatus): Promise<boolean> {
    const { orderId, ...rest } = reservation;
    return (await this.#em.nativeUpdate(ReservationSchema, { orderId, status: expectedStatus }, rest)) === 1;
  }
}
