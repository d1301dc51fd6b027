import type { EntityManager, InferEntity } from '@mikro-orm/core';
import type {
  OrderQuery,
  OrderRepository,
} from '../../../../modules/order/application/ports/order-persistence.port.ts';
import { Order, type OrderStatus } from '../../../../modules/order/domain/order.ts';
import { OrderSchema } from './order.schema.ts';

type Row = InferEntity<typeof OrderSchema>;

const toDomain = (row: Row) =>
  Order.restore({
    ...row,
    status: row.status as OrderStatus,
    rejectionReason: row.rejectionReason ?? null,
    totalCents: row.totalCents === null || row.totalCents === undefined ? null : Number(row.totalCents),
    currency: row.currency ?? null,
  });

export class MikroOrmOrderRepository implements OrderRepository {
  readonly #em: EntityManager;

  constructor(em: EntityManager) {
    this.#em = em;
  }

  async findById(id: string): Promise<Order | null> {
    const row = await this.#em.findOne(OrderSchema, { id }, { disableIdentityMap: true });
    return row ? toDomain(row) : null;
  }

  async list(query: OrderQuery): Promise<Order[]> {
    const where: Record<string, unknown> = {};
    if (query.customerId !== undefined) where.customerId = query.customerId;
    if (query.status) where.status = query.status;
    if (query.after) where.id = { $gt: query.after };
    const rows = await this.#em.find(OrderSchema, where, {
      orderBy: { id: 'asc' },
      limit: query.limit,
      disableIdentityMap: true,
    });
    return rows.map(toDomain);
  }

  async insert(order: Order): Promise<void> {
    await this.#em.insert(OrderSchema, order.toProps());
  }

  async update(order: Order, expectedVersion: number): Promise<boolean> {
    // Lines change once, when confirmation prices them; a customer and a creation time never do.
    const { id, createdAt: _c, customerId: _u, ...changes } = order.toProps();
    return (await this.#em.nativeUpdate(OrderSchema, { id, version: expectedVersion }, changes)) === 1;
  }
}
