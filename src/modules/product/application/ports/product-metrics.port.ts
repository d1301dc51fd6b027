/**
 * What the product use cases report as they decide: counted by an adapter (Prometheus), or ignored.
 * Label values are closed sets: never ids.
 */
export type ProductChange = 'created' | 'updated' | 'deleted';

export interface ProductMetrics {
  productChanged(change: ProductChange): void;
  /** A reservation decided for the first time (a repeat for the same order is not counted), and how long it took. */
  stockReservation(outcome: 'reserved' | 'rejected', seconds: number): void;
}

export const noProductMetrics: ProductMetrics = {
  productChanged: () => undefined,
  stockReservation: () => undefined,
};
