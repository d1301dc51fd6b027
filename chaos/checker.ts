/**
 * Reads what the clients saw (the history) and what the platform kept (its databases, its topics, its
 * dead letters) once the faults are healed, and checks the promises: nothing acknowledged is lost, no
 * effect is applied twice, stock is conserved, every order settles, and nothing is parked unexplained.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readTopic } from '../test/support/kafka.ts';
import type { Window } from './faults.ts';
import type { Platform } from './platform.ts';
import type { Catalog, Operation } from './workload.ts';

export interface Violation {
  check: string;
  detail: string;
  /** The operation it comes from, when there is one (it places the violation in a fault's window). */
  op?: Operation;
}

export interface FaultRow {
  fault: string;
  operations: number;
  /** Attempts that got no answer, a 5xx or a 429, while the window lasted. */
  failedAttempts: number;
  /** What those attempts got, most frequent first (`3× HTTP 503 DATABASE_UNAVAILABLE`). */
  failures: string[];
  /** Operations that had no definite answer after every retry. */
  unresolved: number;
  lost: number;
  duplicated: number;
  /**
   * From the start of the heal (restart, reconnect…) until the platform is back and the clients felt nothing
   * more: the later of the heal's end and the last failed attempt.
   */
  recoverySeconds: number;
  /** The slowest order placed in the window, from its creation to its final state. */
  settleMaxSeconds: number;
  notes: string[];
}

export interface Verdict {
  rows: FaultRow[];
  violations: Violation[];
  totals: {
    operations: number;
    acknowledgedOrders: number;
    orders: number;
    confirmed: number;
    rejected: number;
    cancelled: number;
    pendingAtEnd: number;
    settledAfterSeconds: number;
    deadLetters: number;
    redeliveredEvents: number;
  };
}

interface OrderRow {
  id: string;
  customer_id: string;
  status: string;
  items: unknown;
  created_at: unknown;
  updated_at: unknown;
}
interface ReservationRow {
  order_id: string;
  status: string;
  lines: unknown;
}
interface OutboxRow {
  event_id: string;
  topic: string;
  envelope: string;
  published_at: unknown;
}

const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;
const time = (value: unknown) => new Date(value as string | Date).getTime();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Outcome events: at most one per order and kind, whatever was redelivered. */
const OUTCOMES: Record<string, string> = {
  StockReserved: 'stock outcome',
  StockReservationRejected: 'stock outcome',
  StockReleased: 'stock released',
  OrderPlaced: 'order placed',
  OrderConfirmed: 'order outcome',
  OrderRejected: 'order outcome',
  OrderCancelled: 'order cancelled',
};

/** Waits until no order is PENDING and the outboxes are drained, or the bound passes; returns the seconds it took. */
export async function awaitQuiescence(platform: Platform, boundMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const [pending] = await platform.rows<{ n: number }>(
      'order',
      "select count(*) as n from orders where status = 'PENDING'",
    );
    const unpublished = await Promise.all(
      (['product', 'order'] as const).map(async (m) => {
        const [row] = await platform.rows<{ n: number }>(
          m,
          'select count(*) as n from outbox where published_at is null',
        );
        return Number(row!.n);
      }),
    );
    if (Number(pending!.n) === 0 && unpublished.every((n) => n === 0)) return (Date.now() - started) / 1000;
    if (Date.now() - started > boundMs) return (Date.now() - started) / 1000;
    await sleep(500);
  }
}

export async function check(
  platform: Platform,
  catalog: Catalog,
  history: Operation[],
  windows: Window[],
  settledAfterSeconds: number,
  /** Where the parked events are read from (default: `hexashop dlq list` with the platform's settings). */
  listDeadLetters: (platform: Platform) => Promise<Letter[]> = deadLetters,
): Promise<Verdict> {
  const violations: Violation[] = [];
  const orders = await platform.rows<OrderRow>(
    'order',
    'select id, customer_id, status, items, created_at, updated_at from orders',
  );
  const keys = await platform.rows<{ idem_key: string; order_id: string }>(
    'order',
    'select idem_key, order_id from idempotency_keys',
  );
  const reservations = await platform.rows<ReservationRow>(
    'product',
    'select order_id, status, `lines` from reservations',
  );
  const products = await platform.rows<{
    id: string;
    name: string;
    price_cents: number;
    stock: number;
    version: number;
  }>('product', 'select id, name, price_cents, stock, version from products');
  const replica = await platform.rows<{ product_id: string; name: string; price_cents: number }>(
    'order',
    'select product_id, name, price_cents from catalog_replica',
  );
  const outbox = [
    ...(await platform.rows<OutboxRow>('product', 'select event_id, topic, envelope, published_at from outbox')),
    ...(await platform.rows<OutboxRow>('order', 'select event_id, topic, envelope, published_at from outbox')),
  ];
  const byId = new Map(orders.map((o) => [o.id, o]));
  const reservationOf = new Map(reservations.map((r) => [r.order_id, r]));
  const orderOfKey = new Map(keys.map((k) => [k.idem_key, k.order_id]));
  const opOfOrder = new Map<string, Operation>();
  for (const op of history) {
    if (op.orderId && op.kind.startsWith('order')) opOfOrder.set(op.orderId, op);
    if (op.idempotencyKey && orderOfKey.has(op.idempotencyKey)) opOfOrder.set(orderOfKey.get(op.idempotencyKey)!, op);
  }

  // Lost: every acknowledged order exists, in a final state; every acknowledged cancel took.
  for (const op of history) {
    if (op.kind.startsWith('order') && op.outcome === 'ok') {
      const order = byId.get(op.orderId!);
      if (!order)
        violations.push({
          check: 'lost',
          detail: `order ${op.orderId} was acknowledged (${op.status}) but is not in order_db`,
          op,
        });
      else if (op.kind === 'order-sync' && op.status === 201 && !['CANCELLED', op.orderStatus].includes(order.status)) {
        violations.push({
          check: 'lost',
          detail: `sync order ${op.orderId} was answered ${op.orderStatus}, order_db says ${order.status}`,
          op,
        });
      }
    }
    if (op.kind === 'cancel' && op.outcome === 'ok' && byId.get(op.orderId!)?.status !== 'CANCELLED') {
      violations.push({
        check: 'lost',
        detail: `cancel of ${op.orderId} was acknowledged; the order is ${byId.get(op.orderId!)?.status}`,
        op,
      });
    }
  }
  // Lost updates: the product's version is at least every acknowledged update's.
  const versionOf = new Map(products.map((p) => [p.id, Number(p.version)]));
  for (const op of history.filter((o) => o.kind === 'update' && o.outcome === 'ok')) {
    if ((versionOf.get(op.productId!) ?? 0) < op.version!) {
      violations.push({
        check: 'lost',
        detail: `update of ${op.productId} to version ${op.version} is not in product_db`,
        op,
      });
    }
  }

  // Duplicated: one order per Idempotency-Key, none without one (every client sends one).
  const keyed = new Set(keys.map((k) => k.order_id));
  for (const order of orders) {
    if (!keyed.has(order.id))
      violations.push({ check: 'duplicate', detail: `order ${order.id} has no Idempotency-Key of a client` });
  }
  const sentKeys = new Set(history.flatMap((op) => (op.idempotencyKey ? [op.idempotencyKey] : [])));
  for (const key of keys) {
    if (!sentKeys.has(key.idem_key))
      violations.push({ check: 'duplicate', detail: `order ${key.order_id} under a key no client sent` });
  }
  for (const op of history) {
    const stored = op.idempotencyKey ? orderOfKey.get(op.idempotencyKey) : undefined;
    if (op.orderId && stored && stored !== op.orderId) {
      violations.push({
        check: 'duplicate',
        detail: `key ${op.idempotencyKey} answered ${op.orderId}, stored ${stored}`,
        op,
      });
    }
  }
  // Duplicated effects: one outcome event of each kind per order, in the outboxes and on the topics.
  const events = outbox.map((row) => ({
    row,
    envelope: json<{ id: string; type: string; aggregateId: string; payload: { orderId?: string } }>(row.envelope),
  }));
  const perOrder = new Map<string, Set<string>>();
  for (const { envelope } of events) {
    const kind = OUTCOMES[envelope.type];
    if (!kind) continue;
    const orderId = envelope.payload.orderId ?? envelope.aggregateId;
    const key = `${orderId} ${kind}`;
    const seen = perOrder.get(key) ?? new Set<string>();
    seen.add(envelope.id);
    perOrder.set(key, seen);
  }
  for (const [key, ids] of perOrder) {
    if (ids.size > 1) {
      const [orderId, ...kind] = key.split(' ');
      violations.push({
        check: 'duplicate',
        detail: `order ${orderId}: ${ids.size} distinct "${kind.join(' ')}" events`,
        op: opOfOrder.get(orderId!),
      });
    }
  }
  let redeliveredEvents = 0;
  if (platform.kind === 'split') {
    const topics = [...new Set(outbox.map((row) => row.topic))];
    const onTopics = new Map<string, number>();
    for (const topic of topics) {
      for (const message of await readTopic(
        platform.services!.kafkaBrokers,
        `${platform.env.HEXASHOP_KAFKA_NAMESPACE}${topic}`,
        60_000,
      )) {
        const id = JSON.parse(String(message.value)).id as string;
        onTopics.set(id, (onTopics.get(id) ?? 0) + 1);
      }
    }
    for (const { row } of events) {
      const copies = onTopics.get(row.event_id) ?? 0;
      if (copies === 0)
        violations.push({ check: 'lost', detail: `event ${row.event_id} (${row.topic}) never reached its topic` });
      redeliveredEvents += Math.max(0, copies - 1);
    }
  }

  // Stock conservation: what a product lost is what the reservations that hold stock took.
  const held = new Map<string, number>();
  for (const r of reservations.filter((x) => x.status === 'RESERVED')) {
    for (const line of json<{ productId: string; quantity: number }[]>(r.lines)) {
      held.set(line.productId, (held.get(line.productId) ?? 0) + line.quantity);
    }
  }
  for (const { id, initialStock } of catalog.products) {
    const now = products.find((p) => p.id === id);
    const taken = initialStock - Number(now?.stock);
    if (taken !== (held.get(id) ?? 0)) {
      violations.push({
        check: 'conservation',
        detail: `product ${id}: ${taken} units gone, reservations hold ${held.get(id) ?? 0}`,
      });
    }
  }
  // The order and its reservation agree.
  const expected: Record<string, (r: ReservationRow | undefined) => boolean> = {
    CONFIRMED: (r) => r?.status === 'RESERVED',
    CANCELLED: (r) => r?.status === 'RELEASED',
    REJECTED: (r) => r === undefined || r.status === 'REJECTED',
  };
  for (const order of orders) {
    const agrees = expected[order.status];
    if (agrees && !agrees(reservationOf.get(order.id))) {
      violations.push({
        check: 'conservation',
        detail: `order ${order.id} is ${order.status}, its reservation ${reservationOf.get(order.id)?.status ?? 'absent'}`,
        op: opOfOrder.get(order.id),
      });
    }
  }

  // Settled: nothing PENDING, nothing unpublished, the catalog replica caught up.
  const pending = orders.filter((o) => o.status === 'PENDING');
  for (const order of pending)
    violations.push({ check: 'unsettled', detail: `order ${order.id} still PENDING`, op: opOfOrder.get(order.id) });
  const unpublished = outbox.filter((row) => row.published_at === null);
  if (unpublished.length > 0)
    violations.push({ check: 'unsettled', detail: `${unpublished.length} outbox events never published` });
  // The order module's catalog replica (fed by product events) shows what the product module holds.
  const replicaOf = new Map(replica.map((r) => [r.product_id, r]));
  for (const p of products) {
    const copy = replicaOf.get(p.id);
    if (copy?.name !== p.name || Number(copy.price_cents) !== Number(p.price_cents)) {
      violations.push({
        check: 'unsettled',
        detail: `catalog replica of ${p.id} says ${copy?.name}/${copy?.price_cents}, the product ${p.name}/${p.price_cents}`,
      });
    }
  }

  // Dead letters: every parked event is listed with its reason; none is expected.
  const letters = await listDeadLetters(platform);
  for (const letter of letters) {
    violations.push({
      check: 'dead letter',
      detail: `${letter.topic} ${letter.eventType} ${letter.eventId} parked by ${letter.group}: ${letter.errorCode ?? ''} ${letter.error}`,
    });
  }

  return {
    rows: rowsPerFault(history, windows, violations, orders),
    violations,
    totals: {
      operations: history.length,
      acknowledgedOrders: history.filter((op) => op.kind.startsWith('order') && op.outcome === 'ok').length,
      orders: orders.length,
      confirmed: orders.filter((o) => o.status === 'CONFIRMED').length,
      rejected: orders.filter((o) => o.status === 'REJECTED').length,
      cancelled: orders.filter((o) => o.status === 'CANCELLED').length,
      pendingAtEnd: pending.length,
      settledAfterSeconds,
      deadLetters: letters.length,
      redeliveredEvents,
    },
  };
}

export interface Letter {
  topic: string;
  group: string;
  eventId: string;
  eventType: string;
  errorCode?: string;
  error: string;
}

/** The operator's own tool: `hexashop dlq list --state parked --json` with the platform's settings. */
async function deadLetters(platform: Platform): Promise<Letter[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', 'bin/hexashop.js', 'dlq', 'list', '--state', 'parked', '--json'],
    { env: { ...platform.env, HEXASHOP_LOG_LEVEL: 'error' }, timeout: 120_000 },
  );
  return JSON.parse(stdout) as Letter[];
}

function rowsPerFault(
  history: Operation[],
  windows: Window[],
  violations: Violation[],
  orders: OrderRow[],
): FaultRow[] {
  const created = new Map(orders.map((o) => [o.id, o]));
  return windows.map((w) => {
    const inWindow = (op: Operation) => op.start >= w.start && op.start < w.end;
    const ops = history.filter(inWindow);
    const settles = ops.flatMap((op) => {
      const order = op.orderId ? created.get(op.orderId) : undefined;
      return order && ['CONFIRMED', 'REJECTED'].includes(order.status)
        ? [(time(order.updated_at) - time(order.created_at)) / 1000]
        : [];
    });
    // Failed attempts count where they happened (a long retry may outlive the window its operation began in).
    const failures = history.flatMap((op) => op.failures).filter((f) => f.at >= w.start && f.at < w.end);
    const lastFailure = Math.max(0, ...failures.map((f) => f.at));
    const kinds = new Map<string, number>();
    for (const f of failures) kinds.set(f.error, (kinds.get(f.error) ?? 0) + 1);
    const of = (name: string) => violations.filter((v) => v.check === name && v.op && inWindow(v.op)).length;
    return {
      fault: w.fault,
      operations: ops.length,
      failedAttempts: failures.length,
      failures: [...kinds].sort((a, b) => b[1] - a[1]).map(([error, n]) => `${n}× ${error}`),
      unresolved: ops.filter((op) => op.outcome === 'unknown').length,
      lost: of('lost'),
      duplicated: of('duplicate'),
      recoverySeconds: (Math.max(lastFailure, w.healedAt) - w.healStartedAt) / 1000,
      settleMaxSeconds: Math.max(0, ...settles),
      notes: w.notes,
    };
  });
}
