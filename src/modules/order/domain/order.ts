import type { EventDraft } from '../../../shared/messaging/make-event.ts';
import { OrderErrors } from './order.errors.ts';
import { OrderEventTypes } from './order.events.ts';

export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const MAX_ITEMS = 100;
export const MAX_QUANTITY = 1000;

/**
 * A line of an order. Until the product module has priced it, a line the order module's catalog replica has
 * not seen yet has no sku, name or price (null): the replica is a convenience, never the authority.
 */
export interface OrderItem {
  productId: string;
  sku: string | null;
  name: string | null;
  unitPriceCents: number | null;
  quantity: number;
}

/** The product module's price of a line at the moment it reserved the stock: what the customer pays. */
export interface PricedLine {
  productId: string;
  sku: string;
  name: string;
  unitPriceCents: number;
  currency: string;
}

export interface OrderProps {
  id: string;
  customerId: string;
  status: OrderStatus;
  rejectionReason: string | null;
  items: OrderItem[];
  /** Null while a line is unpriced. */
  totalCents: number | null;
  /** Null while no line is priced. */
  currency: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The only moves an order can make; everything else is an illegal transition. */
const TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  PENDING: ['CONFIRMED', 'REJECTED'],
  CONFIRMED: ['CANCELLED'],
  REJECTED: [],
  CANCELLED: [],
};

export interface Change {
  order: Order;
  event: EventDraft<unknown>;
}

/**
 * The order aggregate: an immutable value whose intent-named methods return the next state together with
 * the event describing the move. A PENDING order's prices are provisional (the catalog replica's, where it
 * knows the product); confirmation prices every line from the product module's reservation, and from then
 * on the lines never change.
 */
export class Order {
  readonly #props: OrderProps;

  private constructor(props: OrderProps) {
    this.#props = props;
  }

  static place(input: {
    id: string;
    customerId: string;
    items: OrderItem[];
    currency: string | null;
    now: Date;
  }): Change {
    const { items } = input;
    if (items.length === 0 || items.length > MAX_ITEMS) throw OrderErrors.invalid(`an order has 1-${MAX_ITEMS} items`);
    if (new Set(items.map((i) => i.productId)).size !== items.length) {
      throw OrderErrors.invalid('each product may appear only once in an order');
    }
    for (const item of items) {
      if (!Number.isSafeInteger(item.quantity) || item.quantity < 1 || item.quantity > MAX_QUANTITY) {
        throw OrderErrors.invalid(`quantity must be an integer from 1 to ${MAX_QUANTITY}`);
      }
    }
    const totalCents = totalOf(items);
    const order = new Order({
      id: input.id,
      customerId: input.customerId,
      status: 'PENDING',
      rejectionReason: null,
      items,
      totalCents,
      currency: input.currency,
      version: 1,
      createdAt: input.now,
      updatedAt: input.now,
    });
    return {
      order,
      event: {
        type: OrderEventTypes.placed,
        aggregateId: order.id,
        payload: {
          orderId: order.id,
          customerId: order.customerId,
          items: items.map(({ productId, quantity }) => ({ productId, quantity })),
          totalCents,
          currency: input.currency,
        },
      },
    };
  }

  static restore(props: OrderProps): Order {
    return new Order(props);
  }

  get id(): string {
    return this.#props.id;
  }

  get status(): OrderStatus {
    return this.#props.status;
  }

  get version(): number {
    return this.#props.version;
  }

  get customerId(): string {
    return this.#props.customerId;
  }

  /** Confirms at the prices the product module reserved at; every line must be among `lines`, in one currency. */
  confirm(lines: readonly PricedLine[], now: Date): Change {
    const byProduct = new Map(lines.map((l) => [l.productId, l]));
    const items = this.#props.items.map((item) => {
      const line = byProduct.get(item.productId);
      if (!line) throw OrderErrors.invalid(`the reservation has no price for product ${item.productId}`);
      return { ...item, sku: line.sku, name: line.name, unitPriceCents: line.unitPriceCents };
    });
    const currencies = new Set(lines.map((l) => l.currency));
    if (currencies.size !== 1) throw OrderErrors.invalid('the reservation is not priced in one currency');
    const totalCents = totalOf(items);
    const currency = [...currencies][0]!;
    return this.#move(
      'CONFIRMED',
      null,
      now,
      { type: OrderEventTypes.confirmed, payload: { orderId: this.id, totalCents, currency } },
      { items, totalCents, currency },
    );
  }

  reject(reason: string, now: Date): Change {
    return this.#move('REJECTED', reason, now, {
      type: OrderEventTypes.rejected,
      payload: { orderId: this.id, reason },
    });
  }

  cancel(now: Date): Change {
    const items = this.#props.items.map(({ productId, quantity }) => ({ productId, quantity }));
    return this.#move('CANCELLED', null, now, {
      type: OrderEventTypes.cancelled,
      payload: { orderId: this.id, items },
    });
  }

  toProps(): OrderProps {
    return { ...this.#props, items: this.#props.items.map((i) => ({ ...i })) };
  }

  #move(
    to: OrderStatus,
    reason: string | null,
    now: Date,
    event: Omit<EventDraft<unknown>, 'aggregateId'>,
    pricing: Partial<Pick<OrderProps, 'items' | 'totalCents' | 'currency'>> = {},
  ): Change {
    if (!TRANSITIONS[this.status].includes(to)) throw OrderErrors.illegalTransition(this.id, this.status, to);
    const order = new Order({
      ...this.#props,
      ...pricing,
      status: to,
      rejectionReason: reason,
      version: this.version + 1,
      updatedAt: now,
    });
    return { order, event: { ...event, aggregateId: this.id } };
  }
}

/** The sum of the lines, or null while any of them is unpriced. */
function totalOf(items: readonly OrderItem[]): number | null {
  let total = 0;
  for (const item of items) {
    if (item.unitPriceCents === null) return null;
    total += item.unitPriceCents * item.quantity;
  }
  return total;
}
