import { ContainerModule } from 'inversify';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { CachedProductPersistence } from '../../adapters/cache/product/cached-product-persistence.ts';
import { redisProblem } from '../../adapters/cache/redis/redis-client.ts';
import type { ProductPersistence } from '../../modules/product/application/ports/product-persistence.port.ts';
import { ProductTokens } from '../../modules/product/product.module.ts';
import type { Cache } from '../../shared/cache.port.ts';
import type { Logger } from '../../shared/logger.port.ts';
import { Tokens } from '../../shared/tokens.ts';
import type { Config } from '../config.schema.ts';
import { createCache, createRedis } from '../infrastructure.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { ReadinessCheck } from '../../edge/http-app.ts';
import { BootTokens } from './boot-tokens.ts';

/**
 * The shared Redis connection when one is configured (null: memory), the cache on it (an in-process tier,
 * in front of Redis when there is one), and its readiness check, which is optional: without Redis the
 * cache is in process only and rate limits count locally.
 */
export const cacheModule = new ContainerModule(({ bind }) => {
  bind<Redis | null>(BootTokens.Redis)
    .toResolvedValue(
      (config: Config, logger: Logger, lifecycle: Lifecycle, registry: Registry) =>
        createRedis(config, logger, lifecycle, registry),
      [BootTokens.Config, Tokens.Logger, BootTokens.Lifecycle, BootTokens.MetricsRegistry],
    )
    .inSingletonScope();
  bind(Tokens.Cache)
    .toResolvedValue(
      (config: Config, redis: Redis | null, logger: Logger, registry: Registry) =>
        createCache(config, redis, logger, registry),
      [BootTokens.Config, BootTokens.Redis, Tokens.Logger, BootTokens.MetricsRegistry],
    )
    .inSingletonScope();
  // No Redis, nothing to check (null checks are left out).
  bind(BootTokens.Readiness).toResolvedValue(
    (redis: Redis | null): ReadinessCheck | null =>
      redis ? { name: 'redis', check: () => redisProblem(redis), optional: true } : null,
    [BootTokens.Redis],
  );
});

/**
 * The product module's persistence port as its use cases see it: the store (storageModule('product')) with
 * the product cache in front, which is also what the product-events consumer tells of changes made elsewhere.
 */
export const productCacheModule = new ContainerModule(({ bind }) => {
  bind(CachedProductPersistence)
    .toResolvedValue(
      (store: ProductPersistence, cache: Cache) => new CachedProductPersistence(store, cache),
      [BootTokens.ProductStore, Tokens.Cache],
    )
    .inSingletonScope();
  bind(ProductTokens.Persistence).toService(CachedProductPersistence);
  bind(ProductTokens.CacheInvalidation).toService(CachedProductPersistence);
});
