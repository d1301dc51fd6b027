/**
 * The modules never import each other: each consumer keeps its own zod copy of the events it reads. This
 * suite binds every copy to its producer. The events are made by the real producers (use cases on the
 * in-memory adapters), go through JSON as on the broker, and are handed to the real consumers, whose use
 * cases only record what they were asked. A producer that renames or drops a field a consumer reads fails
 * here: at compile time where the producer's declared payload type no longer fits the consumer's schema,
 * and at run time where the payload it actually makes no longer parses or no longer carries its values.
 */
import { expect } from 'chai';
import type { z } from 'zod';
import type { SettleOrderCommand } from '../../src/modules/order/application/use-cases/settle-order.use-case.ts';
import type { CatalogEntry } from '../../src/modules/order/application/ports/order-persistence.port.ts';
import { cancelOrder } from '../../src/modules/order/application/use-cases/cancel-order.use-case.ts';
import { placeOrder } from '../../src/modules/order/application/use-cases/place-order.use-case.ts';
import {
  type OrderCancelledPayload,
  type OrderPlacedPayload,
  OrderEventTypes,
} from '../../src/modules/order/domain/order.events.ts';
import {
  handleProductEvent,
  ORDER_CONSUMER,
  ProductEventSchemas,
} from '../../src/modules/order/messaging/product-events.consumer.ts';
import { createProduct } from '../../src/modules/product/application/use-cases/create-product.use-case.ts';
import { deleteProduct } from '../../src/modules/product/application/use-cases/delete-product.use-case.ts';
import type { ReleaseStockCommand } from '../../src/modules/product/application/use-cases/release-stock.use-case.ts';
import type { ReserveStockCommand } from '../../src/modules/product/application/use-cases/reserve-stock.use-case.ts';
import { updateProduct } from '../../src/modules/product/application/use-cases/update-product.use-case.ts';
import {
  type ProductDeletedPayload,
  ProductEventTypes,
  type ProductSnapshotPayload,
  type StockReleasedPayload,
  type StockReservationRejectedPayload,
  type StockReservedPayload,
} from '../../src/modules/product/contract.ts';
import {
  handleOrderEvent,
  OrderEventSchemas,
  PRODUCT_CONSUMER,
} from '../../src/modules/product/messaging/order-events.consumer.ts';
import { invalidateProductCache, ProductIds } from '../../src/modules/product/messaging/product-events.consumer.ts';
import type { EventEnvelope } from '../../src/shared/messaging/event-envelope.ts';
import { catalogEntryOf, events, orderWorld, productInput } from '../unit/fixtures.ts';

/** Compile time: every event type a consumer has a schema for is one its producer declares. */
type Declares<Declared extends string, Consumed extends string> = [Exclude<Consumed, Declared>] extends [never]
  ? true
  : false;
const _productTypesKnown: Declares<
  (typeof ProductEventTypes)[keyof typeof ProductEventTypes],
  keyof typeof ProductEventSchemas
> = true;
const _orderTypesKnown: Declares<
  (typeof OrderEventTypes)[keyof typeof OrderEventTypes],
  keyof typeof OrderEventSchemas
> = true;

/** The one event of this type and aggregate, as a consumer receives it (through JSON, as on Kafka). */
function produced<P>(persistence: Parameters<typeof events>[0], type: string, id: string) {
  const matching = events(persistence, type).filter((e) => e.aggregateId === id);
  expect(matching, `${type} for ${id}`).to.have.length(1);
  return JSON.parse(JSON.stringify(matching[0])) as EventEnvelope<P>;
}

/**
 * Parses a producer's event with the consumer's schema. The constraint is the compile-time half: the
 * producer's declared payload type must be assignable to what the consumer's schema accepts.
 */
function readBy<S extends z.ZodType, P extends z.input<S>>(schema: S, event: EventEnvelope<P>): void {
  const problems = schema.safeParse(event.payload).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  expect(problems, `${event.type} as its consumer reads it`).to.equal(undefined);
}

/** Hands an event to one of the real consumers, whose use cases only record what they were asked. */
async function deliver(to: 'order' | 'product' | 'cache', event: EventEnvelope) {
  const asked = {
    replica: [] as CatalogEntry[],
    settle: [] as SettleOrderCommand[],
    reserve: [] as ReserveStockCommand[],
    release: [] as ReleaseStockCommand[],
    uncached: [] as string[],
  };
  const consumers = {
    order: handleProductEvent({
      updateCatalogReplica: async (entry) => void asked.replica.push(entry),
      settleOrder: async (cmd) => {
        asked.settle.push(cmd);
        return null;
      },
    }),
    product: handleOrderEvent({
      reserveStock: async (cmd) => {
        asked.reserve.push(cmd);
        return { status: 'REJECTED', reason: 'recorded only' };
      },
      releaseStock: async (cmd) => {
        asked.release.push(cmd);
        return null;
      },
    }),
    cache: invalidateProductCache({
      forget: async (ids) => void asked.uncached.push(...ids),
    }),
  };
  await consumers[to](event);
  return asked;
}

/** What every use case a consumer drives is told of the event itself. */
const context = (event: EventEnvelope, consumer: string) => ({
  correlationId: event.correlationId,
  inbox: { consumer, eventId: event.id },
});

/**
 * One history that makes every event the consumers handle: a product created, updated and another one
 * deleted; an order confirmed then cancelled (stock reserved and released), one rejected for want of stock,
 * and one placed asynchronously.
 */
async function history() {
  const world = orderWorld();
  const { product } = world;
  const lamp = await world.addProduct({ stock: 5, priceCents: 1250, currency: 'EUR' });
  const dearer = await updateProduct(product.deps, lamp.id, { name: 'Desk lamp', priceCents: 1500 }, 1, 'corr-u');
  const gone = await createProduct(product.deps, productInput(), 'corr-g');
  await deleteProduct(product.deps, gone.id, 'corr-d');
  const place = (quantity: number, mode: 'sync' | 'async') =>
    placeOrder(world.deps, {
      customerId: 'alice',
      items: [{ productId: lamp.id, quantity }],
      mode,
      correlationId: `corr-${mode}-${quantity}`,
    }).then((placed) => placed.order);
  const confirmed = await place(2, 'sync');
  const short = await place(99, 'sync');
  const pending = await place(1, 'async');
  await cancelOrder(world.deps, {
    orderId: confirmed.id,
    actor: { id: 'alice', role: 'customer' },
    mode: 'sync',
    correlationId: 'corr-c',
  });
  return { world, lamp, dearer, gone, confirmed, short, pending };
}

describe('integration events: each consumer reads what its producer publishes', () => {
  let h: Awaited<ReturnType<typeof history>>;
  before(async () => {
    h = await history();
  });
  const productEvent = <P>(type: string, id: string) => produced<P>(h.world.product.persistence, type, id);
  const orderEvent = <P>(type: string, id: string) => produced<P>(h.world.persistence, type, id);

  it('consumes only event types the producers declare', () => {
    expect(Object.values(ProductEventTypes)).to.include.members(Object.keys(ProductEventSchemas));
    expect(Object.values(OrderEventTypes)).to.include.members(Object.keys(OrderEventSchemas));
  });

  describe('order module ← product-events', () => {
    it('ProductCreated: the catalog replica gets the new product', async () => {
      const event = productEvent<ProductSnapshotPayload>('ProductCreated', h.lamp.id);
      readBy(ProductEventSchemas.ProductCreated, event);
      expect((await deliver('order', event)).replica).to.deep.equal([catalogEntryOf(h.lamp)]);
    });

    it('ProductUpdated: the catalog replica gets the new name, price and version', async () => {
      const event = productEvent<ProductSnapshotPayload>('ProductUpdated', h.lamp.id);
      readBy(ProductEventSchemas.ProductUpdated, event);
      const { replica } = await deliver('order', event);
      expect(replica).to.deep.equal([catalogEntryOf(h.dearer)]);
      expect(replica[0]).to.include({ name: 'Desk lamp', priceCents: 1500, version: 2 });
    });

    it('ProductDeleted: the catalog replica tombstones the product at its next version', async () => {
      const event = productEvent<ProductDeletedPayload>('ProductDeleted', h.gone.id);
      readBy(ProductEventSchemas.ProductDeleted, event);
      const { replica } = await deliver('order', event);
      expect(replica).to.have.length(1);
      expect(replica[0]).to.include({ productId: h.gone.id, version: h.gone.version + 1, deleted: true });
    });

    it('StockReserved: the order settles at the reserved lines and prices', async () => {
      const event = productEvent<StockReservedPayload>('StockReserved', h.confirmed.id);
      readBy(ProductEventSchemas.StockReserved, event);
      const { sku, name, priceCents: unitPriceCents, currency } = h.dearer;
      const line = { productId: h.lamp.id, sku, name, unitPriceCents, currency, quantity: 2 };
      expect((await deliver('order', event)).settle).to.deep.equal([
        { orderId: h.confirmed.id, result: { status: 'RESERVED', lines: [line] }, ...context(event, ORDER_CONSUMER) },
      ]);
    });

    it('StockReservationRejected: the order settles as rejected, with the reason', async () => {
      const event = productEvent<StockReservationRejectedPayload>('StockReservationRejected', h.short.id);
      readBy(ProductEventSchemas.StockReservationRejected, event);
      const result = { status: 'REJECTED', reason: 'INSUFFICIENT_STOCK' };
      expect((await deliver('order', event)).settle).to.deep.equal([
        { orderId: h.short.id, result, ...context(event, ORDER_CONSUMER) },
      ]);
    });
  });

  describe('product module ← order-events', () => {
    it('OrderPlaced: stock is reserved for the order, item by item', async () => {
      const event = orderEvent<OrderPlacedPayload>('OrderPlaced', h.pending.id);
      readBy(OrderEventSchemas.OrderPlaced, event);
      const items = [{ productId: h.lamp.id, quantity: 1 }];
      expect((await deliver('product', event)).reserve).to.deep.equal([
        { orderId: h.pending.id, items, ...context(event, PRODUCT_CONSUMER) },
      ]);
    });

    it("OrderCancelled: the order's stock is released", async () => {
      const event = orderEvent<OrderCancelledPayload>('OrderCancelled', h.confirmed.id);
      readBy(OrderEventSchemas.OrderCancelled, event);
      expect((await deliver('product', event)).release).to.deep.equal([
        { orderId: h.confirmed.id, ...context(event, PRODUCT_CONSUMER) },
      ]);
    });
  });

  describe('product cache ← product-events', () => {
    const dropped = async (event: EventEnvelope) => (await deliver('cache', event)).uncached;
    const readable = <P extends z.input<typeof ProductIds>>(event: EventEnvelope<P>) => {
      readBy(ProductIds, event);
      return event;
    };

    it('a product fact or a stock movement drops the cached copies of the products it concerns', async () => {
      const cases = [
        [readable(productEvent<ProductSnapshotPayload>('ProductCreated', h.lamp.id)), h.lamp.id],
        [readable(productEvent<ProductSnapshotPayload>('ProductUpdated', h.lamp.id)), h.lamp.id],
        [readable(productEvent<ProductDeletedPayload>('ProductDeleted', h.gone.id)), h.gone.id],
        [readable(productEvent<StockReservedPayload>('StockReserved', h.confirmed.id)), h.lamp.id],
        [readable(productEvent<StockReleasedPayload>('StockReleased', h.confirmed.id)), h.lamp.id],
      ] as const;
      for (const [event, id] of cases) {
        expect(await dropped(event), event.type).to.deep.equal([id]);
      }
    });

    it('a rejected reservation moved no stock: nothing to drop', async () => {
      // No compile-time half here: the payload shares no field with ProductIds, which is the point.
      const event = productEvent('StockReservationRejected', h.short.id);
      expect(ProductIds.safeParse(event.payload).success).to.equal(true);
      expect(await dropped(event)).to.deep.equal([]);
    });
  });
});
