/**
 * What the composition root's ContainerModules bind for one another, beside the modules' own tokens
 * (ProductTokens, OrderTokens) and the kernel's (Tokens). Several are multi-bound: every module that has
 * one adds its own (readiness checks, relays, subscriptions, routes).
 */
export const BootTokens = {
  Config: Symbol.for('Config'),
  Lifecycle: Symbol.for('Lifecycle'),
  Jwt: Symbol.for('JwtSettings'),
  Redis: Symbol.for('Redis'),
  /** The product database's persistence port as stored, before the product cache is put in front of it. */
  ProductStore: Symbol.for('ProductStore'),
  /** Multi: one per dependency /health/ready checks. */
  Readiness: Symbol.for('ReadinessCheck'),
  /** Multi: one outbox relay per module database. */
  OutboxRelay: Symbol.for('OutboxRelay'),
  /** The in-process bus's dead letters: each module's `dead_letters` table, routed by consumer group. */
  DeadLetters: Symbol.for('DeadLetters'),
  /** Multi: each module's list of event subscriptions. */
  Subscriptions: Symbol.for('Subscriptions'),
  /** Multi: `{ path, router }` mounted under /api/v1. */
  ApiRoute: Symbol.for('ApiRoute'),
  /** Multi: `{ path, router }` mounted under /internal/v1 (service to service). */
  InternalRoute: Symbol.for('InternalRoute'),
  /** Multi: a module database, resolved first so a role that cannot open one fails before anything else. */
  Database: Symbol.for('Database'),
  Metrics: Symbol.for('HttpMetrics'),
  /** The role's one prom-client Registry (the HTTP metrics' own): every adapter's series go in it. */
  MetricsRegistry: Symbol.for('MetricsRegistry'),
  RateLimits: Symbol.for('RateLimits'),
  /** The access module's verifier of managed API keys, as the edge calls it (roles that host the module). */
  ManagedApiKeys: Symbol.for('ManagedApiKeys'),
  Gateway: Symbol.for('Gateway'),
  HttpApp: Symbol.for('HttpApp'),
} as const;

export interface Route {
  path: string;
  router: import('express').Router;
}
