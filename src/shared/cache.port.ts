/**
 * A look-aside cache; a miss or an unreachable cache both read as undefined. Values are JSON-serialisable
 * (`get`/`set`, each read an independent copy), or text the caller has serialised itself and wants back as
 * it was (`getText`/`setText`: a hit costs no parsing).
 */
export interface Cache {
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T, ttlSeconds: number): Promise<void>;
  getText(key: string): Promise<string | undefined>;
  setText(key: string, text: string, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
}
