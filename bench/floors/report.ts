/** The tables benchFloors prints: each scenario's path beside its floors, the ratios, the verdict, the costs. */
import type { Cost } from './costs.ts';

export type Scenario = 'reads' | 'orders sync' | 'orders async';

/**
 * `ours`: our path; `floor`: what the target is judged against (orders: the writes in process, no HTTP;
 * reads: node:http + one SELECT); `floor+http`: orders only, the floor's writes behind a bare node:http server.
 */
export type Path = 'ours' | 'floor' | 'floor+http';
const PATHS: readonly Path[] = ['ours', 'floor', 'floor+http'];

export interface Measured {
  scenario: Scenario;
  path: Path;
  /** Orders or requests per second. */
  rate: number;
  /** ms */
  p50: number;
  p99: number;
  /** Requests not answered 2xx, errors, orders not settled in time. */
  failed: number;
  cost: Cost;
}

export const LEGEND = [
  'paths: ours; floor, the durable writes with the raw driver in process and no HTTP (orders: what the target',
  '  is judged against), or node:http + one SELECT (reads); floor+http, the same writes behind a bare node:http',
  '  server driven by autocannon like ours, same request and a JSON answer: ours / (floor+http) leaves out what',
  '  any HTTP server costs, ours / floor does not. Reported, not judged.',
  'orders/s: sync, confirmed orders per second of load; async, orders settled per second from the first request',
  '  to the last settlement. p50/p99: what the client waits for (the 201 or the 202; floor: its transactions).',
  'cost: CPU per order or request of the Node processes (ours from their /metrics, the floors their own) and of the',
  '  database server; cores busy = rate × that CPU; MySQL statements, commits and fsyncs per order from its counters;',
  '  write tx: the write transactions the floor committed per order; ours ÷ this: our CPU per order over this path’s.',
];

/** `targets`: ours / floor at least this much, by scenario; a scenario without one is reported, not judged. */
export function report(
  shape: { name: string; title: string },
  targets: Partial<Record<Scenario, number>>,
  figures: readonly Measured[],
): void {
  const scenarios = [...new Set(figures.map((f) => f.scenario))];
  const find = (scenario: Scenario, path: Path) => figures.find((f) => f.scenario === scenario && f.path === path);
  const verdicts: string[] = [];
  const rows = scenarios.flatMap((scenario) => {
    const [ours, floor, http] = PATHS.map((path) => find(scenario, path));
    const ratio = (to: Measured | undefined) => (ours && to ? ours.rate / to.rate : Number.NaN);
    const [toFloor, toHttp] = [ratio(floor), ratio(http)];
    const target = targets[scenario];
    const verdict = target === undefined || Number.isNaN(toFloor) ? '' : toFloor >= target ? 'PASS' : 'MISS';
    if (verdict)
      verdicts.push(`${verdict} ${shape.name} ${scenario}: ours ${toFloor.toFixed(2)} × floor (target ≥ ${target})`);
    if (!Number.isNaN(toHttp))
      verdicts.push(`     ${shape.name} ${scenario}: ours ${toHttp.toFixed(2)} × floor+http (no target)`);
    return [ours, floor, http].flatMap((f) =>
      f
        ? [
            {
              scenario,
              path: f.path,
              rate: `${f.rate} ${scenario === 'reads' ? 'req/s' : 'orders/s'}`,
              p50: `${f.p50} ms`,
              p99: `${f.p99} ms`,
              failed: f.failed,
              'ours / floor': f.path === 'ours' ? toFloor.toFixed(2) : '',
              target: f.path === 'ours' && target !== undefined ? `≥ ${target}` : '',
              result: f.path === 'ours' ? verdict : '',
              'ours / floor+http': f.path === 'ours' && http ? toHttp.toFixed(2) : '',
            },
          ]
        : [],
    );
  });
  console.log(`\n${shape.title}`);
  console.table(rows);
  console.log('cost per order (orders) or per request (reads):');
  // console.table orders the columns as they first appear: every row has the database columns or none.
  const database = figures.some((f) => f.cost.dbCpu !== undefined);
  console.table(
    scenarios.flatMap((scenario) => {
      const ours = find(scenario, 'ours');
      return PATHS.flatMap((path) => {
        const f = find(scenario, path);
        return f ? [costRow(f, ours, database)] : [];
      });
    }),
  );
  for (const line of verdicts) console.log(line);
}

const us = (n: number) => (Number.isNaN(n) ? '?' : `${Math.round(n)} µs`);
const nodeCpu = (f: Measured) => Object.values(f.cost.nodeCpu).reduce((a, b) => a + b, 0);
/** Node and database server CPU per order or request, µs. */
const totalCpu = (f: Measured) => nodeCpu(f) + (f.cost.dbCpu ?? 0);

function costRow(f: Measured, ours: Measured | undefined, database: boolean) {
  const nodeTotal = nodeCpu(f);
  const parts = Object.entries(f.cost.nodeCpu);
  return {
    scenario: f.scenario,
    path: f.path,
    'node CPU':
      parts.length > 1 ? `${us(nodeTotal)} (${parts.map(([n, v]) => `${n} ${us(v)}`).join(', ')})` : us(nodeTotal),
    ...(database ? { 'db CPU': f.cost.dbCpu === undefined ? '' : us(f.cost.dbCpu), 'CPU total': us(totalCpu(f)) } : {}),
    'ours ÷ this': ours && f !== ours ? (totalCpu(ours) / totalCpu(f)).toFixed(2) : '',
    'cores busy': ((f.rate * totalCpu(f)) / 1e6).toFixed(2),
    ...Object.fromEntries(Object.entries(f.cost.server ?? {}).map(([k, v]) => [k, v.toFixed(1)])),
    ...(f.cost.writeTx === undefined ? {} : { 'write tx': f.cost.writeTx.toFixed(2) }),
  };
}
