/**
 * What a cache of product reads must be told by the event consumer: these products changed. The cache sees
 * this instance's own writes itself (it decorates the persistence port); this covers the other instances'.
 */
export interface ProductCacheInvalidation {
  forget(productIds: readonly string[]): Promise<void>;
}
