import type { PlacementMode } from './order-persistence.port.ts';

/**
 * What the order use cases report as they decide: counted by an adapter (Prometheus), or ignored.
 * Label values are closed sets (modes, rejection codes, ISO 4217 currencies): never ids.
 */
export interface OrderMetrics {
  /** A new order was recorded (not an idempotent replay); `mode` is how it was asked to be placed. */
  orderPlaced(mode: PlacementMode): void;
  /** A request was answered from an existing Idempotency-Key. */
  idempotentReplay(): void;
  orderConfirmed(totalCents: number, currency: string): void;
  orderRejected(reason: string): void;
  orderCancelled(): void;
}

export const noOrderMetrics: OrderMetrics = {
  orderPlaced: () => undefined,
  idempotentReplay: () => undefined,
  orderConfirmed: () => undefined,
  orderRejected: () => undefined,
  orderCancelled: () => undefined,
};
