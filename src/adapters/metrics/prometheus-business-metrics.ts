import type client from 'prom-client';
import type { OrderMetrics } from '../../modules/order/application/ports/order-metrics.port.ts';
import type { PlacementMode } from '../../modules/order/application/ports/order-persistence.port.ts';
import type { ProductChange, ProductMetrics } from '../../modules/product/application/ports/product-metrics.port.ts';
import { counterIn, histogramIn, oneOf } from './metric-registry.ts';

/** The product module's rejection codes the order module may be told (anything else counts as OTHER). */
const REJECTION_REASONS = ['INSUFFICIENT_STOCK', 'UNKNOWN_PRODUCT', 'MIXED_CURRENCY'];
const rejectionReason = oneOf(REJECTION_REASONS);
/** ISO 4217 codes are three capitals; anything else is not a currency we would price in. */
const currencyLabel = (currency: string) => (/^[A-Z]{3}$/.test(currency) ? currency : 'OTHER');

/** The order module's business counters as Prometheus series in the role's registry. */
export function prometheusOrderMetrics(registry: client.Registry): OrderMetrics {
  const placed = counterIn(registry, {
    name: 'orders_placed_total',
    help: 'Orders recorded (idempotent replays excluded), by the placement mode asked for',
    labelNames: ['mode'],
  });
  const confirmed = counterIn(registry, { name: 'orders_confirmed_total', help: 'Orders confirmed' });
  const rejected = counterIn(registry, {
    name: 'orders_rejected_total',
    help: 'Orders rejected, by rejection code',
    labelNames: ['reason'],
  });
  const cancelled = counterIn(registry, { name: 'orders_cancelled_total', help: 'Orders cancelled' });
  const value = counterIn(registry, {
    name: 'order_value_cents_total',
    help: "Sum of confirmed orders' totals in minor units, by currency",
    labelNames: ['currency'],
  });
  const replays = counterIn(registry, {
    name: 'idempotent_replays_total',
    help: 'Order requests answered from an existing Idempotency-Key',
  });
  for (const mode of ['sync', 'async']) placed.inc({ mode }, 0);
  for (const reason of REJECTION_REASONS) rejected.inc({ reason }, 0);
  return {
    orderPlaced: (mode: PlacementMode) => placed.inc({ mode }),
    idempotentReplay: () => replays.inc(),
    orderConfirmed: (totalCents, currency) => {
      confirmed.inc();
      value.inc({ currency: currencyLabel(currency) }, totalCents);
    },
    orderRejected: (reason) => rejected.inc({ reason: rejectionReason(reason) }),
    orderCancelled: () => cancelled.inc(),
  };
}

/** The product module's business counters as Prometheus series in the role's registry. */
export function prometheusProductMetrics(registry: client.Registry): ProductMetrics {
  const changed = counterIn(registry, {
    name: 'products_changed_total',
    help: 'Products created, updated or deleted',
    labelNames: ['change'],
  });
  const reservations = counterIn(registry, {
    name: 'stock_reservations_total',
    help: 'Stock reservations decided, by outcome',
    labelNames: ['outcome'],
  });
  const duration = histogramIn(registry, {
    name: 'stock_reservation_duration_seconds',
    help: 'How long the reserve-stock use case took to decide a reservation',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  for (const change of ['created', 'updated', 'deleted']) changed.inc({ change }, 0);
  for (const outcome of ['reserved', 'rejected']) reservations.inc({ outcome }, 0);
  return {
    productChanged: (change: ProductChange) => changed.inc({ change }),
    stockReservation: (outcome, seconds) => {
      reservations.inc({ outcome });
      duration.observe(seconds);
    },
  };
}
