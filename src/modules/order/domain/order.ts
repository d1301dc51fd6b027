import type { EventDraft } from '../../../shared/messaging/make-event.ts';
import { OrderErrors } from './order.errors.ts';
import { OrderEventTypes } from './order.events.ts';

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED';

export const MAX_ITEMS = 100;
export const MAX_QUANTITY = 1000;

export interface OrderItem {
  productId: string;
  sku: string;
  name: string;
  unitPriceCents: number;
  quantity: number;
}

export interface OrderProps {
  id: string;
  customerId: string;
  status: OrderStatus;
  rejectionReason: string | null;
  items: OrderItem[];
  totalCents: number;
  currency: string;
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
 * the event describing the move. Items are priced when the order is placed and never change afterwards.
 */
export class Order {
  readonly #props: OrderProps;

  private constructor(props: OrderProps) {
    this.#props = props;
  }

  static place(input: { id: string; customerId: string; items: OrderItem[]; currency: string; now: Date }): Change {
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
    const totalCents = items.reduce((sum, i) => sum + i.unitPriceCents * i.quantity, 0);
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

  /**
   * An order the order module can already tell it cannot serve (a product its catalog does not know):
   * recorded as REJECTED straight away, and no OrderPlaced goes out, so no stock is ever reserved for it.
   */
  static refuse(
    input: { id: string; customerId: string; items: OrderItem[]; currency: string; now: Date },
    reason: string,
  ): Change {
    const placed = Order.place(input).order;
    return placed.reject(reason, input.now);
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

  confirm(now: Date): Change {
    return this.#move('CONFIRMED', null, now, { type: OrderEventTypes.confirmed, payload: { orderId: this.id } });
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

  #move(to: OrderStatus, reason: string | null, now: Date, event: Omit<EventDraft<unknown>, 'aggregateId'>): Change {
    if (!TRANSITIONS[this.status].includes(to)) throw OrderErrors.illegalTransition(this.id, this.status, to);
    const order = new Order({
      ...this.#props,
      status: to,
      rejectionReason: reason,
      version: this.version + 1,
      updatedAt: now,
    });
    return { order, event: { ...event, aggregateId: this.id } };
  }
}
