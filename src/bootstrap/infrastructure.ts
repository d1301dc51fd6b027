import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/core';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { MemoryCache } from '../adapters/cache/memory/memory-cache.ts';
import { MeteredCache } from '../adapters/cache/metered-cache.ts';
import { RedisCache } from '../adapters/cache/redis/redis-cache.ts';
import { connectRedis } from '../adapters/cache/redis/redis-client.ts';
import { TieredCache } from '../adapters/cache/tiered-cache.ts';
import type { DeadLetterLog } from '../adapters/messaging/in-process/dead-letter-store.ts';
import { InProcessEventBus } from '../adapters/messaging/in-process/in-process-event-bus.ts';
import { KafkaEventBus } from '../adapters/messaging/kafka/kafka-event-bus.ts';
import { ensureTopics } from '../adapters/messaging/kafka/kafka-topics.ts';
import { kafkaClientMetrics } from '../adapters/metrics/kafka-client-metrics.ts';
import {
  cacheLookupCounter,
  deadLetterCounter,
  watchConsumerLag,
  relayMetrics,
  watchOutboxBacklog,
  watchLowStock,
  watchRedis,
  LOW_STOCK_THRESHOLD,
  replicaMetrics,
} from '../adapters/metrics/prometheus-reliability-metrics.ts';
import { NamespacedEventBus } from '../adapters/messaging/namespaced-event-bus.ts';
import { defaultRelayOptions, OutboxRelay } from '../adapters/messaging/outbox-relay.ts';
import { PARTITIONS } from '../shared/messaging/event-envelope.ts';
import { accessMigrations } from '../adapters/persistence/mikro-orm/access/access.migrations.ts';
import { orderMigrations } from '../adapters/persistence/mikro-orm/order/order.migrations.ts';
import { migrate, type MysqlTlsOptions, openDatabase } from '../adapters/persistence/mikro-orm/orm.ts';
import { lowStockCount } from '../adapters/persistence/mikro-orm/product/mikro-orm-product-persistence.ts';
import { productMigrations } from '../adapters/persistence/mikro-orm/product/product.migrations.ts';
import { MikroOrmOutboxStore, outboxBacklog } from '../adapters/persistence/mikro-orm/shared/mikro-orm-outbox.ts';
import {
  hasReplicas,
  observeReplicas,
  replicaLagSeconds,
  sqlDatabaseOf,
} from '../adapters/persistence/mikro-orm/shared/sql.ts';
import type { Cache } from '../shared/cache.port.ts';
import type { Logger } from '../shared/logger.port.ts';
import type { EventBus } from '../shared/messaging/event-bus.port.ts';
import type { Config } from './config.schema.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { DatabaseName, ModuleName } from './role-table.ts';
import { explainDatabaseFailure, explainKafkaFailure } from './startup-failure.ts';

const MODULE_DATABASES = {
  product: { migrations: productMigrations, url: (c: Config) => c.productDbUrl },
  order: { migrations: orderMigrations, url: (c: Config) => c.orderDbUrl },
  access: { migrations: accessMigrations, url: (c: Config) => c.accessDbUrl },
} as const;

/** Where a module's database lives: its own SQLite file in the data dir, or its own MySQL schema. */
export function databaseLocation(config: Config, module: DatabaseName): string {
  if (config.storage === 'mysql') return MODULE_DATABASES[module].url(config);
  mkdirSync(config.dataDir, { recursive: true });
  return join(config.dataDir, `${module}_db.sqlite`);
}

/** Opens a module's database; one that cannot be reached or logged in to fails as a StartupFailure naming the fix. */
export async function openModuleDatabase(config: Config, module: DatabaseName, logger: Logger): Promise<MikroORM> {
  const spec = MODULE_DATABASES[module];
  try {
    return await openDatabase({
      storage: config.storage,
      location: databaseLocation(config, module),
      migrations: spec.migrations(config.storage),
      poolSize: config.dbPoolSize,
      encryptionKey: config.sqliteEncryptionKey,
      replicas: module === 'product' ? config.productDbReplicaUrls : undefined,
      tls: mysqlTls(config),
      logger,
    });
  } catch (error) {
    throw explainDatabaseFailure(error, module);
  }
}

/** --db-tls-ca-file: TLS required, the server certificate verified against that CA (and the host name checked). */
export const mysqlTls = (config: Config): MysqlTlsOptions | undefined =>
  config.dbTlsCaFile === undefined
    ? undefined
    : { ca: readFileSync(config.dbTlsCaFile, 'utf8'), rejectUnauthorized: true };

/** Opens, migrates (when configured) and registers the close of one module's database, plus its outbox relay. */
export async function moduleStorage(
  config: Config,
  module: ModuleName,
  bus: EventBus,
  logger: Logger,
  lifecycle: Lifecycle,
  registry: Registry,
) {
  const orm = await openModuleDatabase(config, module, logger);
  lifecycle.onStop('storage', `${module}-db`, () => orm.close());
  if (config.migrate) {
    const applied = await migrate(orm);
    if (applied.length > 0) logger.info('migrations applied', { module, applied });
  }
  const relay = new OutboxRelay(new MikroOrmOutboxStore(orm), bus, logger, {
    ...defaultRelayOptions,
    observer: relayMetrics(registry, module),
  });
  watchOutboxBacklog(registry, module, () => outboxBacklog(orm));
  if (module === 'product') watchLowStock(registry, () => lowStockCount(orm, LOW_STOCK_THRESHOLD));
  if (hasReplicas(orm)) watchReplicas(orm, `${module}_db`, logger, registry);
  lifecycle.onStop('relays', `${module}-relay`, () => relay.stop());
  const ping = async () => {
    try {
      await sqlDatabaseOf(orm).get('select 1');
      return relay.problem();
    } catch (error) {
      return `database: ${(error as Error).message}`;
    }
  };
  return { orm, relay, ping };
}

/**
 * Read replicas are a convenience, never a dependency: readiness checks the primary alone (`ping`), and
 * a replica that fails leaves its reads to the primary, said once per outage (REPLICA_UNAVAILABLE) and
 * counted (`replica_reads_total{outcome="replica_down"}`).
 */
function watchReplicas(orm: MikroORM, database: string, logger: Logger, registry: Registry): void {
  const counted = replicaMetrics(registry, database, () => replicaLagSeconds(orm));
  observeReplicas(orm, {
    read: counted,
    down: (replica, error) =>
      logger.warn('read replica unavailable; its reads go to the primary until it answers again', {
        code: 'REPLICA_UNAVAILABLE',
        database,
        replica,
        error: error.message,
      }),
    up: (replica) => logger.info('read replica serving reads again', { database, replica }),
  });
}

export async function createEventBus(
  config: Config,
  logger: Logger,
  lifecycle: Lifecycle,
  registry: Registry,
  /** Where the in-process bus parks: the owning module's `dead_letters` table (RoutedDeadLetterStore). */
  deadLetters?: DeadLetterLog,
): Promise<EventBus> {
  const onDeadLetter = deadLetterCounter(registry);
  const inner: EventBus =
    config.bus === 'kafka'
      ? new KafkaEventBus({
          brokers: config.kafkaBrokers,
          clientId: `hexashop-${config.role}`,
          logger,
          // Created or verified at start-up (never by auto-creation): a role fails fast on a wrong topic.
          topics: kafkaTopicOptions(config),
          onDeadLetter,
          instrument: kafkaClientMetrics(registry, config.kafkaNamespace),
          // Heartbeats often enough that a session survives two lost ones.
          consumer: {
            sessionTimeout: config.kafkaSessionTimeoutMs,
            heartbeatInterval: Math.min(3_000, Math.floor(config.kafkaSessionTimeoutMs / 3)),
          },
        })
      : new InProcessEventBus(logger, { ...(deadLetters ? { deadLetters } : {}), onDeadLetter });
  const bus = config.kafkaNamespace ? new NamespacedEventBus(inner, config.kafkaNamespace) : inner;
  watchConsumerLag(registry, () => bus.lag());
  // Stops fetching, lets handlers in hand finish, commits, leaves the groups, then flushes the producer.
  lifecycle.onStop('consumers', 'event-bus', () => bus.stop());
  return bus;
}

export const kafkaTopicOptions = (config: Config) => ({
  partitions: PARTITIONS,
  replicationFactor: 1,
  namespace: config.kafkaNamespace,
});

/** `hexashop kafka topics`: the contract's topics and their dead-letter topics, created or verified. */
export async function ensureKafkaTopics(config: Config, logger: Logger) {
  try {
    return await ensureTopics(config.kafkaBrokers, logger, kafkaTopicOptions(config));
  } catch (error) {
    throw explainKafkaFailure(error);
  }
}

/** The shared Redis connection when one is configured (cache and rate limits), else null: memory it is. */
export async function createRedis(
  config: Config,
  logger: Logger,
  lifecycle: Lifecycle,
  registry: Registry,
): Promise<Redis | null> {
  if (!config.redisUrl) return null;
  const redis = await connectRedis(config.redisUrl, logger);
  lifecycle.onStop('storage', 'redis', async () => void (await redis.quit().catch(() => redis.disconnect())));
  watchRedis(registry, () => redis.status === 'ready');
  return redis;
}

/**
 * The process's cache: in process alone without Redis (entries live their full TTL: this instance's writes
 * and the in-process bus's events are the only changes), else a short-lived in-process tier in front of Redis
 * (`--cache-local-ttl-ms` bounds how long another instance's change may go unseen here). Each tier's
 * look-ups are counted under its own `tier` label.
 */
export function createCache(config: Config, redis: Redis | null, logger: Logger, registry: Registry): Cache {
  const near = new MeteredCache(
    new MemoryCache({
      maxEntries: config.cacheLocalMaxEntries,
      ...(redis ? { maxTtlMs: config.cacheLocalTtlMs } : {}),
    }),
    cacheLookupCounter(registry, 'local'),
  );
  if (!redis) return near;
  const far = new MeteredCache(
    new RedisCache(redis, logger, `${config.redisKeyPrefix}cache:`),
    cacheLookupCounter(registry, 'redis'),
  );
  return new TieredCache(near, far);
}
