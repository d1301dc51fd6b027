/** A look-aside cache. Values are JSON-serialisable; a miss or an unreachable cache both read as undefined. */
export interface Cache {
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
}
