import { ContainerModule } from 'inversify';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { rateLimitRefusalCounter } from '../../adapters/metrics/prometheus-reliability-metrics.ts';
import { apiKeyBearer } from '../../edge/gateway/api-key-bearer.ts';
import { createGateway, type Gateway } from '../../edge/gateway/gateway.router.ts';
import { readUpstreamsFile, reloadUpstreamsFile } from '../../edge/gateway/upstreams-file.ts';
import type { JwtSettings, ManagedApiKeys } from '../../edge/http/auth.ts';
import { HttpMetrics } from '../../edge/http/metrics.ts';
import { createRateLimits, type RateLimits } from '../../edge/http/rate-limit.ts';
import { createHttpApp, type ReadinessCheck } from '../../edge/http-app.ts';
import type { Logger } from '../../shared/logger.port.ts';
import { Tokens } from '../../shared/tokens.ts';
import type { Config } from '../config.schema.ts';
import type { Lifecycle } from '../lifecycle.ts';
import { BootTokens, type Route } from './boot-tokens.ts';

const many = (serviceIdentifier: symbol) => ({
  serviceIdentifier,
  isMultiple: true as const,
  optional: true as const,
});
const maybe = (serviceIdentifier: symbol) => ({ serviceIdentifier, optional: true as const });

/** The gateway role's upstream pools, health checks and breakers, closed once the HTTP server has drained. */
export const gatewayModule = new ContainerModule(({ bind }) => {
  bind<Gateway>(BootTokens.Gateway)
    .toResolvedValue(
      (config: Config, logger: Logger, metrics: HttpMetrics, lifecycle: Lifecycle, jwt: JwtSettings) => {
        const file = config.upstreamsFile;
        const upstreams = file ? readUpstreamsFile(file) : undefined;
        const gateway = createGateway({
          productUpstreams: upstreams?.product ?? config.productUpstreams,
          orderUpstreams: upstreams?.order ?? config.orderUpstreams,
          logger,
          bodyLimit: config.bodyLimit,
          registry: metrics.registry,
          timeouts: { headersMs: config.upstreamTimeoutMs },
          vouchForApiKey: apiKeyBearer(jwt),
        });
        lifecycle.onStop('producers', 'gateway-upstreams', () => gateway.close());
        if (file) {
          // nginx-style: rewrite the file (a ConfigMap update), then `kill -HUP`; no restart, nothing dropped.
          const reload = () => void reloadUpstreamsFile(gateway, file, logger);
          process.on('SIGHUP', reload);
          lifecycle.onStop('http', 'upstreams-file', async () => void process.off('SIGHUP', reload));
        }
        return gateway;
      },
      [BootTokens.Config, Tokens.Logger, BootTokens.Metrics, BootTokens.Lifecycle, BootTokens.Jwt],
    )
    .inSingletonScope();
});

/** Rate limits for a role that faces clients: counted in Redis when there is one, flushed before it closes. */
export const rateLimitsModule = new ContainerModule(({ bind }) => {
  bind<RateLimits>(BootTokens.RateLimits)
    .toResolvedValue(
      (config: Config, redis: Redis | null, logger: Logger, lifecycle: Lifecycle, registry: Registry) => {
        const limits = createRateLimits({
          read: config.rateLimitRead,
          write: config.rateLimitWrite,
          redis,
          keyPrefix: `${config.redisKeyPrefix}rl:`,
          logger,
          trustProxyHops: config.trustProxyHops,
          onRefused: rateLimitRefusalCounter(registry),
        });
        lifecycle.onStop('producers', 'rate-limits', () => limits.close());
        return limits;
      },
      [BootTokens.Config, BootTokens.Redis, Tokens.Logger, BootTokens.Lifecycle, BootTokens.MetricsRegistry],
    )
    .inSingletonScope();
});

/** The HTTP edge of every role, from what the other modules bound: routes, checks, gateway, limits. */
export const edgeModule = new ContainerModule(({ bind }) => {
  bind(BootTokens.Metrics)
    .toResolvedValue((config: Config) => new HttpMetrics(config.role), [BootTokens.Config])
    .inSingletonScope();
  bind(BootTokens.MetricsRegistry).toResolvedValue((metrics: HttpMetrics) => metrics.registry, [BootTokens.Metrics]);
  bind(BootTokens.HttpApp)
    .toResolvedValue(
      (
        config: Config,
        logger: Logger,
        jwt: JwtSettings,
        metrics: HttpMetrics,
        readiness: (ReadinessCheck | null)[] | undefined,
        api: Route[] | undefined,
        internal: Route[] | undefined,
        gateway: Gateway | undefined,
        limits: RateLimits | undefined,
        managedApiKeys: ManagedApiKeys | undefined,
      ) =>
        createHttpApp({
          logger,
          metrics,
          jwt,
          bodyLimit: config.bodyLimit,
          readiness: (readiness ?? []).filter((check) => check !== null),
          api: routes(api),
          internal: routes(internal),
          gateway,
          rateLimit: limits?.guard,
          apiKeys: config.apiKeys,
          managedApiKeys,
          trustProxyHops: config.trustProxyHops,
          accessLog: config.logLevel === 'http' || config.logLevel === 'debug',
        }),
      [
        BootTokens.Config,
        Tokens.Logger,
        BootTokens.Jwt,
        BootTokens.Metrics,
        many(BootTokens.Readiness),
        many(BootTokens.ApiRoute),
        many(BootTokens.InternalRoute),
        maybe(BootTokens.Gateway),
        maybe(BootTokens.RateLimits),
        maybe(BootTokens.ManagedApiKeys),
      ],
    )
    .inSingletonScope();
});

const routes = (list: Route[] | undefined) => Object.fromEntries((list ?? []).map((r) => [r.path, r.router]));
