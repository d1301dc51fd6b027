/**
 * What the rest of the system may use of the product module: the facade the order module calls in sync
 * mode (in-process, or over HTTP from another process) and the payloads of the events it publishes.
 * Nothing else under modules/product is for outside eyes.
 */
export type {
  ProductDeletedPayload,
  ProductSnapshotPayload,
  ReservedLine,
  StockReleasedPayload,
  StockReservationRejectedPayload,
  StockReservedPayload,
} from './domain/product.events.ts';
export { ProductEventTypes } from './domain/product.events.ts';
export type { RequestedItem, ReservationOutcome } from './domain/reservation.ts';

import type { RequestedItem, ReservationOutcome } from './domain/reservation.ts';

export interface ProductFacade {
  reserveStock(cmd: {
    orderId: string;
    items: readonly RequestedItem[];
    correlationId: string;
  }): Promise<ReservationOutcome>;
  releaseStock(cmd: { orderId: string; correlationId: string }): Promise<void>;
}
