/** Facts the product module publishes on `product-events`; the payload shapes are part of the contract. */
export interface ProductSnapshotPayload {
  id: string;
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  version: number;
}

export interface ProductDeletedPayload {
  id: string;
  version: number;
}

export interface ReservedLine {
  productId: string;
  sku: string;
  name: string;
  unitPriceCents: number;
  currency: string;
  quantity: number;
}

export interface StockReservedPayload {
  orderId: string;
  lines: ReservedLine[];
}

export interface StockReservationRejectedPayload {
  orderId: string;
  reason: string;
}

export interface StockReleasedPayload {
  orderId: string;
  lines: ReservedLine[];
}

export const ProductEventTypes = {
  created: 'ProductCreated',
  updated: 'ProductUpdated',
  deleted: 'ProductDeleted',
  stockReserved: 'StockReserved',
  stockReservationRejected: 'StockReservationRejected',
  stockReleased: 'StockReleased',
} as const;
