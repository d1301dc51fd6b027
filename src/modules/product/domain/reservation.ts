import type { ReservedLine } from './product.events.ts';

/**
 * A stock reservation for one order. Keyed by order id, which makes reserving and releasing idempotent:
 * the second request for the same order finds the first one's outcome instead of taking stock again.
 */
export type ReservationStatus = 'RESERVED' | 'REJECTED' | 'RELEASED';

export const RejectionReasons = {
  insufficientStock: 'INSUFFICIENT_STOCK',
  unknownProduct: 'UNKNOWN_PRODUCT',
  mixedCurrency: 'MIXED_CURRENCY',
} as const;

export interface Reservation {
  orderId: string;
  status: ReservationStatus;
  reason: string | null;
  lines: ReservedLine[];
  createdAt: Date;
  updatedAt: Date;
}

export interface RequestedItem {
  productId: string;
  quantity: number;
}

export type ReservationOutcome =
  | { status: 'RESERVED'; lines: ReservedLine[] }
  | { status: 'REJECTED'; reason: string }
  | { status: 'RELEASED'; lines: ReservedLine[] };

export function outcomeOf(r: Reservation): ReservationOutcome {
  if (r.status === 'REJECTED') return { status: 'REJECTED', reason: r.reason ?? 'REJECTED' };
  return { status: r.status, lines: r.lines };
}
