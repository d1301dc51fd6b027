import type { ProductCacheInvalidation } from '../../../modules/product/application/ports/product-cache.port.ts';
import {
  LATEST,
  type ProductPersistence,
  type ProductRepository,
  type ProductTransaction,
} from '../../../modules/product/application/ports/product-persistence.port.ts';
import type { ProductDocument } from '../../../modules/product/application/product-document.ts';
import type { Cache } from '../../../shared/cache.port.ts';

export const productCacheKey = (id: string) => `product:${id}`;

/** A cache entry is the version, a space, then the JSON: `3 {"id":…}`. */
export const encodeCachedProduct = ({ version, json }: ProductDocument): string => `${version} ${json}`;

/** The document of a cache entry; undefined for a miss or an entry in any other form (a miss too). */
export function decodeCachedProduct(entry: string | undefined): ProductDocument | undefined {
  if (entry === undefined) return undefined;
  const space = entry.indexOf(' ');
  const version = space > 0 ? Number(entry.slice(0, space)) : Number.NaN;
  if (!Number.isSafeInteger(version) || entry.charCodeAt(space + 1) !== 123 /* { */) return undefined;
  return { version, json: entry.slice(space + 1) };
}

/** One load of a product's document from the store, shared by every read that missed meanwhile. */
interface Flight {
  promise: Promise<ProductDocument | null>;
  /** Set when the product changed while loading: what was read may be older than the change, so it is not kept. */
  stale: boolean;
}

export interface ProductCacheOptions {
  /** How long an entry lives in the cache (the far tier's TTL; the near tier caps it at its own). */
  ttlSeconds?: number;
}

/**
 * The product persistence port with a cache in front of its one hot read, `products.findDocument` (GET a
 * product): look-aside on the Cache port (one tier in process, or a TieredCache: in process in front of Redis),
 * entries held as `version JSON` text so a hit is handed on without parsing. Concurrent misses of one product
 * share one load (single flight). Writes this instance makes through `transaction` drop the entries of the
 * products they touched once they commit; changes made elsewhere arrive as product events (`forget`).
 *
 * Everything else passes through uncached: reads inside a transaction (they decide writes), `findById` and
 * `findByIds` outside one (no use case reads them on a hot path), and `list` pages, whose keys (cursor,
 * limit, search text) are unbounded and which no event could invalidate (any product change may move any
 * page); a page is one indexed range read. A read given a read-after position (it must see a given write)
 * bypasses the cache and leaves it as it was: the store decides whether a replica has the write. A load
 * that fills the cache reads the primary (`LATEST`), never a read replica: a replica behind a change would
 * otherwise put the old version in the cache for its TTL, after the change's invalidation had run.
 */
export class CachedProductPersistence implements ProductPersistence, ProductCacheInvalidation {
  readonly products: ProductRepository;
  readonly #inner: ProductPersistence;
  readonly #cache: Cache;
  readonly #ttlSeconds: number;
  readonly #flights = new Map<string, Flight>();

  constructor(inner: ProductPersistence, cache: Cache, { ttlSeconds = 60 }: ProductCacheOptions = {}) {
    this.#inner = inner;
    this.#cache = cache;
    this.#ttlSeconds = ttlSeconds;
    this.products = new CachedProductReads(
      inner,
      (...args) => this.#findDocument(...args),
      (id) => this.forget([id]),
    );
  }

  async transaction<T>(work: (tx: ProductTransaction) => Promise<T>): Promise<T> {
    const touched = new Set<string>();
    const result = await this.#inner.transaction((tx) =>
      work({ ...tx, products: new ChangeRecordingRepository(tx.products, touched) }),
    );
    if (touched.size > 0) await this.forget([...touched]);
    return result;
  }

  async forget(productIds: readonly string[]): Promise<void> {
    await Promise.all(
      productIds.map((id) => {
        const flight = this.#flights.get(id);
        if (flight) {
          flight.stale = true;
          this.#flights.delete(id);
        }
        return this.#cache.delete(productCacheKey(id));
      }),
    );
  }

  async #findDocument(...args: Parameters<ProductRepository['findDocument']>): Promise<ProductDocument | null> {
    const [id, readAfter] = args;
    if (readAfter !== undefined) return this.#inner.products.findDocument(...args);
    const key = productCacheKey(id);
    const cached = decodeCachedProduct(await this.#cache.getText(key));
    if (cached) return cached;
    return (this.#flights.get(id) ?? this.#load(id, key)).promise;
  }

  #load(id: string, key: string): Flight {
    const flight: Flight = { promise: Promise.resolve(null), stale: false };
    flight.promise = (async () => {
      try {
        const document = await this.#inner.products.findDocument(id, LATEST);
        // Checked and written in one step: a `forget` after this point deletes what is written here.
        if (document && !flight.stale) await this.#cache.setText(key, encodeCachedProduct(document), this.#ttlSeconds);
        return document;
      } finally {
        if (this.#flights.get(id) === flight) this.#flights.delete(id);
      }
    })();
    this.#flights.set(id, flight);
    return flight;
  }
}

/**
 * The repository outside transactions: `findDocument` through the cache, the rest as the store answers (asked
 * for its repository each time: a store may hand out a new one per state, as the in-memory one does).
 */
class CachedProductReads implements ProductRepository {
  readonly #store: ProductPersistence;
  readonly #forget: (id: string) => Promise<void>;
  readonly findDocument: ProductRepository['findDocument'];

  constructor(
    store: ProductPersistence,
    findDocument: ProductRepository['findDocument'],
    forget: (id: string) => Promise<void>,
  ) {
    this.#store = store;
    this.findDocument = findDocument;
    this.#forget = forget;
  }

  findById(...args: Parameters<ProductRepository['findById']>) {
    return this.#store.products.findById(...args);
  }

  findByIds(...args: Parameters<ProductRepository['findByIds']>) {
    return this.#store.products.findByIds(...args);
  }

  list(...args: Parameters<ProductRepository['list']>) {
    return this.#store.products.list(...args);
  }

  insert(...args: Parameters<ProductRepository['insert']>) {
    return this.#store.products.insert(...args);
  }

  // The port writes in transactions; a write outside one is dropped from the cache all the same.
  async update(...args: Parameters<ProductRepository['update']>) {
    const updated = await this.#store.products.update(...args);
    await this.#forget(args[0].id);
    return updated;
  }

  async delete(...args: Parameters<ProductRepository['delete']>) {
    const deleted = await this.#store.products.delete(...args);
    await this.#forget(args[0]);
    return deleted;
  }

  async adjustStock(...args: Parameters<ProductRepository['adjustStock']>) {
    const adjusted = await this.#store.products.adjustStock(...args);
    await this.#forget(args[0]);
    return adjusted;
  }
}

/** A transaction's repository that notes which products its writes touched (a new product has no entry yet). */
class ChangeRecordingRepository implements ProductRepository {
  readonly #inner: ProductRepository;
  readonly #touched: Set<string>;

  constructor(inner: ProductRepository, touched: Set<string>) {
    this.#inner = inner;
    this.#touched = touched;
  }

  findById(...args: Parameters<ProductRepository['findById']>) {
    return this.#inner.findById(...args);
  }

  findDocument(...args: Parameters<ProductRepository['findDocument']>) {
    return this.#inner.findDocument(...args);
  }

  findByIds(...args: Parameters<ProductRepository['findByIds']>) {
    return this.#inner.findByIds(...args);
  }

  list(...args: Parameters<ProductRepository['list']>) {
    return this.#inner.list(...args);
  }

  insert(...args: Parameters<ProductRepository['insert']>) {
    return this.#inner.insert(...args);
  }

  update(...args: Parameters<ProductRepository['update']>) {
    this.#touched.add(args[0].id);
    return this.#inner.update(...args);
  }

  delete(...args: Parameters<ProductRepository['delete']>) {
    this.#touched.add(args[0]);
    return this.#inner.delete(...args);
  }

  adjustStock(...args: Parameters<ProductRepository['adjustStock']>) {
    this.#touched.add(args[0]);
    return this.#inner.adjustStock(...args);
  }
}
