/** Facts the order module publishes on `order-events`; the payload shapes are part of the contract. */
/** `totalCents` and `currency` are provisional (null where the order module did not know a price yet). */
export interface OrderPlacedPayload {
  orderId: string;
  customerId: string;
  items: { productId: string; quantity: number }[];
  totalCents: number | null;
  currency: string | null;
}

/** The price the customer pays: the product module's, at reservation. */
export interface OrderConfirmedPayload {
  orderId: string;
  totalCents: number;
  currency: string;
}

export interface OrderRejectedPayload {
  orderId: string;
  reason: string;
}

export interface OrderCancelledPayload {
  orderId: string;
  items: { productId: string; quantity: number }[];
}

export const OrderEventTypes = {
  placed: 'OrderPlaced',
  confirmed: 'OrderConfirmed',
  rejected: 'OrderRejected',
  cancelled: 'OrderCancelled',
} as const;
