import type {
  OrderQuery,
  OrderRepository,
} from '../../../../modules/order/application/ports/order-persistence.port.ts';
import { Order, type OrderItem, type OrderProps, type OrderStatus } from '../../../../modules/order/domain/order.ts';
import { dateFrom, jsonFrom, placeholders, type Sql, type SqlRow, type SqlValue, whereOf } from '../shared/sql.ts';

const COLUMNS =
  'id, customer_id, status, rejection_reason, items, total_cents, currency, version, created_at, updated_at';

/** What an update may change: lines change once, when confirmation prices them; a customer and a creation time never do. */
const CHANGING = ['status', 'rejection_reason', 'items', 'total_cents', 'currency', 'version', 'updated_at'];
const changingValues = (o: OrderProps): SqlValue[] => [
  o.status,
  o.rejectionReason,
  JSON.stringify(o.items),
  o.totalCents,
  o.currency,
  o.version,
  o.updatedAt,
];

const toDomain = (row: SqlRow) =>
  Order.restore({
    id: String(row.id),
    customerId: String(row.customer_id),
    status: row.status as OrderStatus,
    rejectionReason: (row.rejection_reason as string | null) ?? null,
    items: jsonFrom<OrderItem[]>(row.items),
    totalCents: row.total_cents === null ? null : Number(row.total_cents),
    currency: (row.currency as string | null) ?? null,
    version: Number(row.version),
    createdAt: dateFrom(row.created_at),
    updatedAt: dateFrom(row.updated_at),
  });

export class MikroOrmOrderRepository implements OrderRepository {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async findById(id: string): Promise<Order | null> {
    const row = await this.#sql.get(`select ${COLUMNS} from orders where id = ?`, [id]);
    return row ? toDomain(row) : null;
  }

  async list(query: OrderQuery): Promise<Order[]> {
    const filter = whereOf(
      query.customerId !== undefined && ['customer_id = ?', query.customerId],
      query.status && ['status = ?', query.status],
      query.after && ['id > ?', query.after],
    );
    const rows = await this.#sql.all(
      `select ${COLUMNS} from orders ${filter.sql} order by id limit ${Math.trunc(query.limit)}`,
      filter.params,
    );
    return rows.map(toDomain);
  }

  async insert(order: Order): Promise<void> {
    const o = order.toProps();
    await this.#sql.run(
      `insert into orders (id, customer_id, created_at, ${CHANGING.join(', ')}) values (?, ?, ?, ${placeholders(CHANGING.length)})`,
      [o.id, o.customerId, o.createdAt, ...changingValues(o)],
    );
  }

  async update(order: Order, expectedVersion: number): Promise<boolean> {
    const o = order.toProps();
    const changed = await this.#sql.run(
      `update orders set ${CHANGING.map((c) => `${c} = ?`).join(', ')} where id = ? and version = ?`,
      [...changingValues(o), o.id, expectedVersion],
    );
    return changed === 1;
  }
}
