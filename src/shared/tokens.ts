/**
 * Service identifiers for the infrastructure every module may ask the container for. Plain symbols: the
 * kernel imports no container library; only *.module.ts files and bootstrap/ bind and resolve them.
 */
export const Tokens = {
  Clock: Symbol.for('Clock'),
  Logger: Symbol.for('Logger'),
  Cache: Symbol.for('Cache'),
  EventBus: Symbol.for('EventBus'),
  /** The instance name (unique per process) for broadcast subscriptions such as cache invalidation. */
  InstanceId: Symbol.for('InstanceId'),
} as const;
