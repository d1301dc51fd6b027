/**
 * What the mix checks besides the shop's invariants when the roles run as services, in particular with
 * several instances of each (`--shape split-2x2`): things a stranger would worry about once two processes
 * share one database, one outbox and one consumer group. Read from the outside only: each process's
 * /metrics, the Kafka group coordinator (kafkajs admin), the topics themselves, and the two databases
 * through the roles' own accounts (read-only queries).
 *
 * - Every instance served (ProcessMeter, any shape): each product and order instance served requests during the
 *   load by its own request counters and answered the gateway by the gateway's upstream counters, and each
 *   product instance answered direct reservations. It also gives each process's CPU over the load.
 * - Every instance consumed: each consumer group has one member per instance, the 6 partitions of its
 *   topic are all assigned, and every member's partitions advanced during the run.
 * - Each order settled once: order_db's outbox holds one OrderConfirmed or OrderRejected per order as its
 *   final status says, one OrderCancelled if it was cancelled, at most one OrderPlaced.
 * - Each order's stock taken once: product_db holds one reservation per order, in the state its final
 *   status implies, with the order's lines; one StockReserved or StockReservationRejected, and a
 *   StockReleased only for a cancelled order.
 * - Every event of the run's orders went to Kafka exactly once: none left in an outbox, none published
 *   twice (two relays per database never both sent one row), none on a topic without its outbox row.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { createPool, type Pool } from 'mysql2/promise';
import { loadConfig } from '../src/bootstrap/config.ts';
import type { Config } from '../src/bootstrap/config.schema.ts';
import { ORDER_CONSUMER } from '../src/modules/order/messaging/product-events.consumer.ts';
import { PRODUCT_CONSUMER } from '../src/modules/product/messaging/order-events.consumer.ts';
import { PARTITIONS, TOPICS } from '../src/shared/messaging/event-envelope.ts';
import { sleep } from './platform.ts';

export interface Check {
  name: string;
  problems: string[];
}

/** An order as the admin lists it after the run, with the mode it was placed in when the bench knows it. */
export interface AuditedOrder {
  id: string;
  status: string;
  items: { productId: string; quantity: number }[];
  mode?: 'sync' | 'async';
}

export interface ScaleAudit {
  /** Prints what each group member consumed during the run (known once `checks` ran). */
  print(): void;
  /** After the orders settled and stock was conserved: the checks above. Waits for the outboxes until `deadline`. */
  checks(orders: readonly AuditedOrder[], deadline: number): Promise<Check[]>;
  close(): Promise<void>;
}

/** One group per role and the topic it consumes. */
interface Group {
  id: string;
  topic: string;
}

type Offsets = Map<number, number>;

interface Scrape {
  /** Requests but the operators' (health, metrics, docs). */
  served: number;
  /** Of them, the internal reservation API (the order service's direct calls). */
  reservations: number;
  /** The gateway's: successful attempts by upstream instance URL. */
  upstream: Map<string, number>;
  cpuSeconds: number;
  at: number;
}

/** What each of our processes did over the load, from its own /metrics: requests by kind, CPU. Any shape. */
export class ProcessMeter {
  readonly #processes: Record<string, string>;
  #before: Map<string, Scrape> | undefined;
  #after: Map<string, Scrape> | undefined;

  constructor(processes: Record<string, string>) {
    this.#processes = processes;
  }

  async loadStarts(): Promise<void> {
    this.#before = await scrapeAll(this.#processes);
  }

  async loadEnded(): Promise<void> {
    this.#after = await scrapeAll(this.#processes);
  }

  /** CPU seconds of all our processes over the load. */
  cpuSeconds(): number {
    const { before, after } = this.#window();
    return [...after].reduce((sum, [name, a]) => sum + a.cpuSeconds - before.get(name)!.cpuSeconds, 0);
  }

  print(): void {
    console.log('per process, over the load (its own /metrics):');
    console.table(processRows(this.#processes, this.#window()));
  }

  /** Every product and order instance answered API requests, and every product instance direct reservations. */
  check(): Check {
    return {
      name: "every product and order instance served requests (by its own counters and by the gateway's); every product instance, direct reservations",
      problems: servedProblems(this.#processes, this.#window()),
    };
  }

  #window(): Window {
    if (!this.#before || !this.#after) throw new Error('ProcessMeter: loadStarts and loadEnded first');
    return { before: this.#before, after: this.#after };
  }
}

interface Window {
  before: Map<string, Scrape>;
  after: Map<string, Scrape>;
}

/** Starts watching the split roles' consumer groups and topics (`instances` of each role); call before the run's first order. */
export async function startScaleAudit(instances: number): Promise<ScaleAudit> {
  const config = loadConfig({ flags: { role: 'order' } });
  const ns = config.kafkaNamespace;
  const topics = { product: ns + TOPICS.productEvents, order: ns + TOPICS.orderEvents };
  const groups: Group[] = [
    { id: ns + ORDER_CONSUMER, topic: topics.product },
    { id: ns + PRODUCT_CONSUMER, topic: topics.order },
  ];
  const kafka = new Kafka({
    brokers: config.kafkaBrokers,
    clientId: 'hexashop-bench-audit',
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await untilGroupsStable(admin, groups, instances);
    const topicStart = await topicOffsets(admin, Object.values(topics), 'high');
    const consumedBefore = await committedOffsets(admin, groups);
    let groupRows: Record<string, unknown>[] = [];

    return {
      print() {
        if (groupRows.length > 0) {
          console.log('consumer groups at the end (kafkajs admin), events consumed during the run:');
          console.table(groupRows);
        }
      },

      async checks(orders, deadline) {
        const members = await describeMembers(admin, groups, consumedBefore, instances);
        groupRows = members.rows;
        const db = openDatabases(config);
        try {
          const ids = orders.map((o) => o.id);
          await untilOutboxesDrained(db, ids, deadline);
          const rows = await outboxRows(db, ids);
          const reservations = await reservationRows(db.product, ids);
          const sent = await readTopics(
            kafka,
            topicStart,
            await topicOffsets(admin, Object.values(topics), 'high'),
            ids,
          );
          const { settled, stock } = perOrderProblems(orders, rows, reservations);
          return [
            {
              name: `each consumer group: one member per instance (${instances}), all ${PARTITIONS} partitions assigned, every member consumed`,
              problems: members.problems,
            },
            {
              name: 'each order settled once: one OrderConfirmed or OrderRejected in order_db as its final status says, one OrderCancelled if cancelled, at most one OrderPlaced',
              problems: settled,
            },
            {
              name: "each order's stock taken once: one reservation in product_db, in the state and with the lines its order implies; StockReleased only if cancelled",
              problems: stock,
            },
            {
              name: "every event of the run's orders went to Kafka exactly once (none left in an outbox, none sent twice)",
              problems: deliveryProblems(rows, sent),
            },
          ];
        } finally {
          await db.close();
        }
      },

      close: () => admin.disconnect(),
    };
  } catch (error) {
    await admin.disconnect();
    throw error;
  }
}

// ------------------------------------------------------------------------------------------- processes

/** Routes every process serves for its operators (probes, metrics, docs), not for shoppers. */
const OPERATOR_ROUTE = /^\/(health|metrics|docs|openapi)/;

/**
 * From one process's Prometheus text: its requests (http_requests_total) by kind of route, its CPU seconds and,
 * from the gateway, the attempts each upstream instance answered (gateway_upstream_requests_total, success):
 * a second witness that does not depend on how the instance labels its routes.
 */
async function scrape(url: string): Promise<Scrape> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sample: Scrape = {
    served: 0,
    reservations: 0,
    upstream: new Map(),
    cpuSeconds: 0,
    at: performance.now(),
  };
  const label = (labels: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(labels)?.[1] ?? '';
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const [, name, labels = '', text] = match;
    const value = Number(text);
    if (name === 'process_cpu_seconds_total') sample.cpuSeconds = value;
    if (name === 'gateway_upstream_requests_total' && label(labels, 'outcome') === 'success')
      sample.upstream.set(label(labels, 'instance'), value);
    if (name !== 'http_requests_total') continue;
    const route = label(labels, 'route');
    if (OPERATOR_ROUTE.test(route)) continue;
    sample.served += value;
    if (route.includes('reservations')) sample.reservations += value;
  }
  return sample;
}

async function scrapeAll(processes: Record<string, string>): Promise<Map<string, Scrape>> {
  const entries = Object.entries(processes);
  return new Map(await Promise.all(entries.map(async ([name, url]) => [name, await scrape(url)] as const)));
}

const roleOf = (name: string) => name.replace(/-\d+$/, '');

/** What one process did over the window; `viaGateway`: what the gateway says it answered (upstreams only). */
function deltaOf(processes: Record<string, string>, { before, after }: Window, name: string) {
  const [b, a] = [before.get(name)!, after.get(name)!];
  const gateway = processes.gateway === undefined ? undefined : { b: before.get('gateway')!, a: after.get('gateway')! };
  const url = processes[name]!;
  const viaGateway =
    gateway && name !== 'gateway' ? (gateway.a.upstream.get(url) ?? 0) - (gateway.b.upstream.get(url) ?? 0) : undefined;
  return {
    served: a.served - b.served,
    reservations: a.reservations - b.reservations,
    viaGateway,
    cpu: a.cpuSeconds - b.cpuSeconds,
    seconds: (a.at - b.at) / 1000,
  };
}

function processRows(processes: Record<string, string>, window: Window) {
  const totals = new Map<string, number>();
  for (const name of Object.keys(processes))
    totals.set(roleOf(name), (totals.get(roleOf(name)) ?? 0) + deltaOf(processes, window, name).served);
  const order = ['monolith', 'gateway', 'product', 'order'];
  const byRole = Object.entries(processes).sort(
    ([a], [b]) => order.indexOf(roleOf(a)) - order.indexOf(roleOf(b)) || a.localeCompare(b),
  );
  return byRole.map(([name, url]) => {
    const d = deltaOf(processes, window, name);
    return {
      process: name,
      url,
      'requests served': d.served,
      'per s': Math.round(d.served / d.seconds),
      'share of role': `${Math.round((100 * d.served) / Math.max(1, totals.get(roleOf(name))!))} %`,
      'answered for the gateway': d.viaGateway ?? '',
      'of them reservations': d.reservations,
      'CPU s': Number(d.cpu.toFixed(1)),
      'CPU % of a core': Math.round((100 * d.cpu) / d.seconds),
    };
  });
}

function servedProblems(processes: Record<string, string>, window: Window) {
  const problems: string[] = [];
  for (const [name, url] of Object.entries(processes)) {
    const role = roleOf(name);
    if (role !== 'product' && role !== 'order') continue;
    const d = deltaOf(processes, window, name);
    if (!d.viaGateway) problems.push(`${name} (${url}): the gateway got no answer from it`);
    if (d.served <= 0) problems.push(`${name} (${url}): its own counters show no request served`);
    if (role === 'product' && d.reservations <= 0) problems.push(`${name} (${url}): no direct reservation`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------- kafka

type Admin = ReturnType<Kafka['admin']>;

/** Both groups Stable with one member per instance (a new member's join rebalances the group), 30 s at most. */
async function untilGroupsStable(admin: Admin, groups: readonly Group[], members: number): Promise<void> {
  for (let waited = 0; waited < 30_000; waited += 500) {
    const { groups: described } = await admin.describeGroups(groups.map((g) => g.id));
    if (described.every((g) => g.state === 'Stable' && g.members.length === members)) return;
    await sleep(500);
  }
  console.log(`note: the consumer groups did not settle on ${members} member(s) each within 30 s; measuring anyway`);
}

async function topicOffsets(admin: Admin, topics: readonly string[], which: 'high' | 'low') {
  const all = new Map<string, Offsets>();
  for (const topic of topics) {
    const partitions = await admin.fetchTopicOffsets(topic);
    all.set(topic, new Map(partitions.map((p) => [p.partition, Number(p[which])])));
  }
  return all;
}

/** Each group's committed offset per partition of its topic; a partition it never committed counts from its start. */
async function committedOffsets(admin: Admin, groups: readonly Group[]): Promise<Map<string, Offsets>> {
  const all = new Map<string, Offsets>();
  for (const { id, topic } of groups) {
    const low = (await topicOffsets(admin, [topic], 'low')).get(topic)!;
    const [fetched] = await admin.fetchOffsets({ groupId: id, topics: [topic] });
    const offsets: Offsets = new Map();
    for (const { partition, offset } of fetched?.partitions ?? [])
      offsets.set(partition, Number(offset) >= 0 ? Number(offset) : (low.get(partition) ?? 0));
    all.set(id, offsets);
  }
  return all;
}

/** Who holds which partitions now, and how far each member's partitions moved since `before`. */
async function describeMembers(
  admin: Admin,
  groups: readonly Group[],
  before: Map<string, Offsets>,
  instances: number,
): Promise<{ rows: Record<string, unknown>[]; problems: string[] }> {
  const now = await committedOffsets(admin, groups);
  const { groups: described } = await admin.describeGroups(groups.map((g) => g.id));
  const rows: Record<string, unknown>[] = [];
  const problems: string[] = [];
  for (const { id, topic } of groups) {
    const group = described.find((g) => g.groupId === id);
    const members = group?.members ?? [];
    if (members.length !== instances)
      problems.push(`group ${id}: ${members.length} member(s) (state ${group?.state}), not ${instances}`);
    const assigned = new Set<number>();
    for (const member of members) {
      const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
      const partitions = [...(decoded?.assignment[topic] ?? [])].sort((a, b) => a - b);
      for (const p of partitions) assigned.add(p);
      const consumed = partitions.reduce(
        (sum, p) => sum + (now.get(id)!.get(p) ?? 0) - (before.get(id)!.get(p) ?? 0),
        0,
      );
      rows.push({ group: id, topic, member: member.memberId.slice(-12), partitions: partitions.join(','), consumed });
      if (consumed <= 0) problems.push(`group ${id}: member …${member.memberId.slice(-12)} consumed nothing`);
    }
    if (assigned.size !== PARTITIONS)
      problems.push(
        `group ${id}: partitions ${[...assigned].sort().join(',') || 'none'} assigned, not all ${PARTITIONS}`,
      );
  }
  return { rows, problems };
}

/** Every message of the run's orders from `from` up to `to` (exclusive), by event id: how often each went out. */
async function readTopics(
  kafka: Kafka,
  from: Map<string, Offsets>,
  to: Map<string, Offsets>,
  orderIds: readonly string[],
): Promise<Map<string, { aggregateId: string; type: string; copies: number }>> {
  const wanted = new Set(orderIds);
  const sent = new Map<string, { aggregateId: string; type: string; copies: number }>();
  const remaining = new Set<string>();
  for (const [topic, ends] of to)
    for (const [partition, end] of ends)
      if (end > (from.get(topic)?.get(partition) ?? end)) remaining.add(`${topic}/${partition}`);
  if (remaining.size === 0) return sent;
  const groupId = `hexashop-bench-audit-${Date.now().toString(36)}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250 });
  let allRead!: () => void;
  const done = new Promise<void>((resolve) => (allRead = resolve));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...to.keys()], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const offset = Number(message.offset);
        const end = to.get(topic)?.get(partition) ?? 0;
        if (offset < (from.get(topic)?.get(partition) ?? 0) || offset >= end) return;
        const key = message.key?.toString() ?? '';
        if (wanted.has(key)) {
          const event = JSON.parse(message.value?.toString() ?? '{}') as { id: string; type: string };
          const seen = sent.get(event.id) ?? { aggregateId: key, type: event.type, copies: 0 };
          seen.copies++;
          sent.set(event.id, seen);
        }
        if (offset === end - 1 && remaining.delete(`${topic}/${partition}`) && remaining.size === 0) allRead();
      },
    });
    for (const [topic, starts] of from)
      for (const [partition, offset] of starts) consumer.seek({ topic, partition, offset: String(offset) });
    const timer = new AbortController();
    await Promise.race([done, delay(60_000, undefined, { signal: timer.signal }).catch(() => {})]);
    timer.abort();
    if (remaining.size > 0)
      throw new Error(`reading the topics back: ${[...remaining].join(' ')} not read within 60 s`);
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
  return sent;
}

// ------------------------------------------------------------------------------------------ databases

interface Databases {
  order: Pool;
  product: Pool;
  close(): Promise<void>;
}

/** The two module databases through the roles' own accounts, as configured for them. */
function openDatabases(config: Config): Databases {
  const order = createPool({ uri: config.orderDbUrl, connectionLimit: 2 });
  const product = createPool({ uri: config.productDbUrl, connectionLimit: 2 });
  return { order, product, close: async () => void (await Promise.all([order.end(), product.end()])) };
}

interface OutboxRow {
  module: 'order' | 'product';
  eventId: string;
  aggregateId: string;
  type: string;
  published: boolean;
}

/** `sql` with `in (?)` on every chunk of ids (the run's orders may be thousands). */
async function byIds<T>(pool: Pool, sql: string, ids: readonly string[]): Promise<T[]> {
  const rows: T[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const [chunk] = await pool.query(sql, [ids.slice(i, i + 500)]);
    rows.push(...(chunk as T[]));
  }
  return rows;
}

async function outboxRows(db: Databases, ids: readonly string[]): Promise<OutboxRow[]> {
  const sql = 'select event_id, aggregate_id, envelope, published_at from outbox where aggregate_id in (?)';
  type Raw = { event_id: string; aggregate_id: string; envelope: string; published_at: Date | null };
  const rows: OutboxRow[] = [];
  for (const module of ['order', 'product'] as const) {
    for (const raw of await byIds<Raw>(db[module], sql, ids)) {
      rows.push({
        module,
        eventId: raw.event_id,
        aggregateId: raw.aggregate_id,
        type: (JSON.parse(raw.envelope) as { type: string }).type,
        published: raw.published_at !== null,
      });
    }
  }
  return rows;
}

/** Waits until no outbox row of the run's orders is waiting to go out (the relays poll), until `deadline`. */
async function untilOutboxesDrained(db: Databases, ids: readonly string[], deadline: number): Promise<void> {
  const sql = 'select aggregate_id from outbox where published_at is null and aggregate_id in (?)';
  for (;;) {
    const left = [...(await byIds(db.order, sql, ids)), ...(await byIds(db.product, sql, ids))];
    if (left.length === 0 || Date.now() > deadline) return;
    await sleep(250);
  }
}

interface Reservation {
  status: string;
  lines: { productId: string; quantity: number }[];
}

async function reservationRows(pool: Pool, ids: readonly string[]): Promise<Map<string, Reservation[]>> {
  type Raw = { order_id: string; status: string; lines: unknown };
  const rows = await byIds<Raw>(pool, 'select order_id, status, `lines` from reservations where order_id in (?)', ids);
  const byOrder = new Map<string, Reservation[]>();
  for (const raw of rows) {
    // MariaDB's JSON is text to the driver; MySQL's arrives parsed.
    const lines = (typeof raw.lines === 'string' ? JSON.parse(raw.lines) : raw.lines) as Reservation['lines'];
    byOrder.set(raw.order_id, [...(byOrder.get(raw.order_id) ?? []), { status: raw.status, lines }]);
  }
  return byOrder;
}

// ------------------------------------------------------------------------------------------ per order

/** How many events of each type an order in this final status must have: [min, max]. */
function expectedEvents(order: AuditedOrder): Record<string, [number, number]> {
  const confirmed = order.status === 'CONFIRMED' || order.status === 'CANCELLED' ? 1 : 0;
  const rejected = order.status === 'REJECTED' ? 1 : 0;
  const cancelled = order.status === 'CANCELLED' ? 1 : 0;
  const exactly = (n: number): [number, number] => [n, n];
  return {
    // An async order announces itself; a sync one only when its crash guard went out (not settled directly).
    OrderPlaced: order.mode === 'async' ? [1, 1] : [0, 1],
    OrderConfirmed: exactly(confirmed),
    OrderRejected: exactly(rejected),
    OrderCancelled: exactly(cancelled),
    StockReserved: exactly(confirmed),
    StockReservationRejected: exactly(rejected),
    StockReleased: exactly(cancelled),
  };
}

const RESERVATION_STATE: Record<string, string> = {
  CONFIRMED: 'RESERVED',
  CANCELLED: 'RELEASED',
  REJECTED: 'REJECTED',
};

const quantities = (lines: readonly { productId: string; quantity: number }[]) =>
  JSON.stringify(
    Object.entries(
      lines.reduce<Record<string, number>>((q, l) => ({ ...q, [l.productId]: (q[l.productId] ?? 0) + l.quantity }), {}),
    ).sort(),
  );

function perOrderProblems(
  orders: readonly AuditedOrder[],
  rows: readonly OutboxRow[],
  reservations: Map<string, Reservation[]>,
): { settled: string[]; stock: string[] } {
  const counts = new Map<string, number>();
  for (const row of rows)
    counts.set(`${row.aggregateId} ${row.type}`, (counts.get(`${row.aggregateId} ${row.type}`) ?? 0) + 1);
  const settled: string[] = [];
  const stock: string[] = [];
  const stockEvents = new Set(['StockReserved', 'StockReservationRejected', 'StockReleased']);
  for (const order of orders) {
    for (const [type, [min, max]] of Object.entries(expectedEvents(order))) {
      const n = counts.get(`${order.id} ${type}`) ?? 0;
      if (n < min || n > max)
        (stockEvents.has(type) ? stock : settled).push(
          `order ${order.id} (${order.status}, ${order.mode ?? 'mode unknown'}): ${n} × ${type}, expected ${min === max ? min : `${min}-${max}`}`,
        );
    }
    const held = reservations.get(order.id) ?? [];
    const expected = RESERVATION_STATE[order.status];
    if (held.length !== 1 || held[0]!.status !== expected) {
      stock.push(
        `order ${order.id} (${order.status}): reservation(s) ${held.map((r) => r.status).join(', ') || 'none'}, expected ${expected}`,
      );
    } else if (expected !== 'REJECTED' && quantities(held[0]!.lines) !== quantities(order.items)) {
      stock.push(`order ${order.id}: reserved ${quantities(held[0]!.lines)}, ordered ${quantities(order.items)}`);
    }
  }
  return { settled, stock };
}

function deliveryProblems(
  rows: readonly OutboxRow[],
  sent: Map<string, { aggregateId: string; type: string; copies: number }>,
): string[] {
  const problems: string[] = [];
  const inOutbox = new Set<string>();
  for (const row of rows) {
    inOutbox.add(row.eventId);
    const copies = sent.get(row.eventId)?.copies ?? 0;
    if (!row.published)
      problems.push(`${row.type} ${row.eventId} of order ${row.aggregateId} still in ${row.module}_db's outbox`);
    else if (copies !== 1)
      problems.push(`${row.type} ${row.eventId} of order ${row.aggregateId} on Kafka ${copies} times`);
  }
  for (const [id, { aggregateId, type }] of sent)
    if (!inOutbox.has(id)) problems.push(`${type} ${id} of order ${aggregateId} on Kafka but in no outbox`);
  return problems;
}
