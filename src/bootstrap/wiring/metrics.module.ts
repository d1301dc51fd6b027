import { ContainerModule } from 'inversify';
import type { Registry } from 'prom-client';
import {
  prometheusOrderMetrics,
  prometheusProductMetrics,
} from '../../adapters/metrics/prometheus-business-metrics.ts';
import type { OrderMetrics } from '../../modules/order/application/ports/order-metrics.port.ts';
import { OrderTokens } from '../../modules/order/order.module.ts';
import type { ProductMetrics } from '../../modules/product/application/ports/product-metrics.port.ts';
import { ProductTokens } from '../../modules/product/product.module.ts';
import { BootTokens } from './boot-tokens.ts';

/**
 * The modules' business counters, in the role's registry. Resolved only by a role that runs the module,
 * so a gateway's /metrics shows no order series.
 */
export const businessMetricsModule = new ContainerModule(({ bind }) => {
  bind<OrderMetrics>(OrderTokens.Metrics)
    .toResolvedValue((registry: Registry) => prometheusOrderMetrics(registry), [BootTokens.MetricsRegistry])
    .inSingletonScope();
  bind<ProductMetrics>(ProductTokens.Metrics)
    .toResolvedValue((registry: Registry) => prometheusProductMetrics(registry), [BootTokens.MetricsRegistry])
    .inSingletonScope();
});
