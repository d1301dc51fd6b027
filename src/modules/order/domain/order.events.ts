/** Facts the order module publishes on `order-events`; the payload shapes are part of the contract. */
export interface OrderPlacedPayload {
  orderId: string;
  customerId: string;
  items: { productId: string; quantity: number }[];
  totalCents: number;
  currency: string;
}

export interface OrderConfirmedPayload {
  orderId: string;
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
