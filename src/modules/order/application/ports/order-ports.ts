import type { Clock } from '../../../../shared/clock.ts';
import type { Logger } from '../../../../shared/logger.port.ts';
import type { OrderMetrics } from './order-metrics.port.ts';
import type { OrderPersistence } from './order-persistence.port.ts';
import type { ProductCatalog } from './product-catalog.port.ts';

/** Every port an order use case may be given; each use case declares the few it needs (a Pick of these). */
export interface OrderPorts {
  persistence: OrderPersistence;
  catalog: ProductCatalog;
  clock: Clock;
  logger: Logger;
  /** Business counters; absent, nothing is counted. */
  metrics?: OrderMetrics;
}
