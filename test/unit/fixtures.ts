/**
 * Shared fixtures for the unit and use-case suites: a fixed clock, the in-memory adapters wired into each
 * module's dependencies, and a product catalog that answers with the real product use cases.
 */
import { expect } from 'chai';
import { MemoryCache } from '../../src/adapters/cache/memory/memory-cache.ts';
import { CachedProductPersistence } from '../../src/adapters/cache/product/cached-product-persistence.ts';
import { InMemoryOrderPersistence } from '../../src/adapters/persistence/in-memory/in-memory-order-persistence.ts';
import { InMemoryProductPersistence } from '../../src/adapters/persistence/in-memory/in-memory-product-persistence.ts';
import type { OutboxState } from '../../src/adapters/persistence/in-memory/in-memory-transactions.ts';
import type { CatalogEntry } from '../../src/modules/order/application/ports/order-persistence.port.ts';
import type {
  ProductCatalog,
  ReservationResult,
} from '../../src/modules/order/application/ports/product-catalog.port.ts';
import type { OrderPorts } from '../../src/modules/order/application/ports/order-ports.ts';
import { updateCatalogReplica } from '../../src/modules/order/application/use-cases/update-catalog-replica.use-case.ts';
import { createProduct } from '../../src/modules/product/application/use-cases/create-product.use-case.ts';
import type { ProductPorts } from '../../src/modules/product/application/ports/product-ports.ts';
import { releaseStock } from '../../src/modules/product/application/use-cases/release-stock.use-case.ts';
import { reserveStock } from '../../src/modules/product/application/use-cases/reserve-stock.use-case.ts';
import type { NewProduct, ProductProps } from '../../src/modules/product/domain/product.ts';
import type { Clock } from '../../src/shared/clock.ts';
import { DomainError } from '../../src/shared/domain-error.ts';
import { newId } from '../../src/shared/id.ts';
import type { Logger } from '../../src/shared/logger.port.ts';
import type { EventEnvelope } from '../../src/shared/messaging/event-envelope.ts';

export const T0 = new Date('2025-03-01T12:00:00.000Z');

/** A clock that stands still unless a test moves it. */
export interface FakeClock extends Clock {
  advance(ms: number): void;
}

export function fixedClock(start: Date = T0): FakeClock {
  let millis = start.getTime();
  return {
    now: () => new Date(millis),
    advance: (ms) => {
      millis += ms;
    },
  };
}

/** Awaits a promise that must reject with a DomainError, and returns that error. */
export async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(DomainError);
    return error as DomainError;
  }
  expect.fail('expected a DomainError, but the promise resolved');
}

/** Runs code that must throw a DomainError, and returns that error. */
export function thrown(work: () => unknown): DomainError {
  try {
    work();
  } catch (error) {
    expect(error).to.be.instanceOf(DomainError);
    return error as DomainError;
  }
  expect.fail('expected a DomainError, but nothing was thrown');
}

/** The committed outbox of an in-memory persistence. */
export function outbox(persistence: { transactions: { state: OutboxState } }) {
  return persistence.transactions.state.outbox;
}

/** The events in the committed outbox, optionally only those of one type. */
export function events(persistence: { transactions: { state: OutboxState } }, type?: string): EventEnvelope[] {
  return outbox(persistence)
    .map((r) => r.event)
    .filter((e) => type === undefined || e.type === type);
}

export const inboxEntry = (consumer = 'test-consumer') => ({
  consumer,
  eventId: newId(),
});

let skuCounter = 0;

export function productInput(overrides: Partial<NewProduct> = {}): NewProduct {
  skuCounter += 1;
  return {
    sku: `SKU-${skuCounter}`,
    name: 'Widget',
    description: 'A widget',
    priceCents: 1000,
    currency: 'EUR',
    stock: 10,
    ...overrides,
  };
}

export interface ProductWorld {
  /** The store itself: what happens here bypasses the cache. */
  persistence: InMemoryProductPersistence;
  cache: MemoryCache;
  /** The persistence port as a role composes it: the store with the product cache in front (in deps). */
  cached: CachedProductPersistence;
  clock: FakeClock;
  deps: ProductPorts;
  /** The stored product, read outside any transaction. */
  stored(id: string): Promise<ProductProps | undefined>;
  stockOf(id: string): Promise<number | undefined>;
}

export function productWorld(): ProductWorld {
  const persistence = new InMemoryProductPersistence();
  const cache = new MemoryCache();
  const cached = new CachedProductPersistence(persistence, cache);
  const clock = fixedClock();
  const stored = async (id: string) => (await persistence.products.findById(id))?.toProps();
  return {
    persistence,
    cache,
    cached,
    clock,
    deps: { persistence: cached, clock },
    stored,
    stockOf: async (id) => (await stored(id))?.stock,
  };
}

/** A logger that keeps what it was told, for asserting on warnings. */
export function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    info() {},
    http() {},
    debug() {},
    error() {},
    warn: (message) => void warnings.push(message),
  };
}

/**
 * The order module's ProductCatalog port answered by the real product use cases on an in-memory product
 * database, so stock is real. `failure` makes every call throw (e.g. an 'unavailable' DomainError).
 */
export class UseCaseProductCatalog implements ProductCatalog {
  readonly #deps: ProductPorts;
  failure: Error | undefined;
  reserveCalls = 0;
  releaseCalls = 0;

  constructor(deps: ProductPorts) {
    this.#deps = deps;
  }

  async reserve(
    orderId: string,
    items: readonly { productId: string; quantity: number }[],
    correlationId: string,
  ): Promise<ReservationResult> {
    this.reserveCalls += 1;
    if (this.failure) throw this.failure;
    return reserveStock(this.#deps, { orderId, items, correlationId });
  }

  async release(orderId: string, correlationId: string): Promise<void> {
    this.releaseCalls += 1;
    if (this.failure) throw this.failure;
    await releaseStock(this.#deps, { orderId, correlationId });
  }
}

export interface OrderWorld {
  product: ProductWorld;
  persistence: InMemoryOrderPersistence;
  catalog: UseCaseProductCatalog;
  logger: ReturnType<typeof recordingLogger>;
  /** Every port an order use case may need (placing an order needs them all). */
  deps: OrderPorts;
  /** Creates a product in the product module and copies it into the order module's catalog replica. */
  addProduct(overrides?: Partial<NewProduct>): Promise<ProductProps>;
  /** Writes an entry straight into the replica, as a product event would. */
  seedReplica(entry: CatalogEntry): Promise<void>;
}

export function orderWorld(): OrderWorld {
  const product = productWorld();
  const persistence = new InMemoryOrderPersistence();
  const catalog = new UseCaseProductCatalog(product.deps);
  const logger = recordingLogger();
  const deps: OrderPorts = {
    persistence,
    catalog,
    clock: product.clock,
    logger,
  };
  const seedReplica = (entry: CatalogEntry) => updateCatalogReplica(deps, entry, inboxEntry('order-service'));
  return {
    product,
    persistence,
    catalog,
    logger,
    deps,
    seedReplica,
    addProduct: async (overrides = {}) => {
      const created = await createProduct(product.deps, productInput(overrides), 'corr-setup');
      await seedReplica(catalogEntryOf(created));
      return created;
    },
  };
}

export function catalogEntryOf(p: ProductProps, overrides: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    productId: p.id,
    sku: p.sku,
    name: p.name,
    priceCents: p.priceCents,
    currency: p.currency,
    version: p.version,
    deleted: false,
    ...overrides,
  };
}
