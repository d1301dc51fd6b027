import type { Clock } from '../../../../shared/clock.ts';
import type { ProductMetrics } from './product-metrics.port.ts';
import type { ProductPersistence } from './product-persistence.port.ts';

/** Every port a product use case may be given; each use case declares the few it needs (a Pick of these). */
export interface ProductPorts {
  persistence: ProductPersistence;
  clock: Clock;
  /** Business counters; absent, nothing is counted. */
  metrics?: ProductMetrics;
}
