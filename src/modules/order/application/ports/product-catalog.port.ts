/**
 * The order module's view of the product module in sync mode. Adapters: in-process (a call on the
 * product facade) and HTTP (to the product service). Both are idempotent by order id, so a retried
 * call never reserves twice. An adapter that cannot reach the product module throws an 'unavailable'
 * DomainError.
 */
export interface ReservedLine {
  productId: string;
  sku: string;
  name: string;
  unitPriceCents: number;
  currency: string;
  quantity: number;
}

export type ReservationResult =
  | { status: 'RESERVED'; lines: ReservedLine[] }
  | { status: 'REJECTED'; reason: string }
  | { status: 'RELEASED'; lines: ReservedLine[] };

export interface ProductCatalog {
  reserve(
    orderId: string,
    items: readonly { productId: string; quantity: number }[],
    correlationId: string,
  ): Promise<ReservationResult>;
  release(orderId: string, correlationId: string): Promise<void>;
}
