/** The tables benchFloors prints: each scenario's path beside its floor, the ratio, the verdict, the costs. */
import type { Cost } from './costs.ts';

export type Scenario = 'reads' | 'orders sync' | 'orders async';

export interface Measured {
  scenario: Scenario;
  path: 'ours' | 'floor';
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
  'orders/s: sync, confirmed orders per second of load; async, orders settled per second from the first request',
  '  to the last settlement. p50/p99: what the client waits for (ours: the 201 or the 202; the floor: its transactions).',
  'cost: CPU per order or request of the Node processes (ours from their /metrics, the floor its own) and of the',
  '  database server; cores busy = rate × that CPU; MySQL statements, commits and fsyncs per order from its counters;',
  '  write tx: the write transactions the floor committed per order.',
];

/** `targets`: ours / floor at least this much, by scenario; a scenario without one is reported, not judged. */
export function report(
  shape: { name: string; title: string },
  targets: Partial<Record<Scenario, number>>,
  figures: readonly Measured[],
): void {
  const scenarios = [...new Set(figures.map((f) => f.scenario))];
  const find = (scenario: Scenario, path: Measured['path']) =>
    figures.find((f) => f.scenario === scenario && f.path === path);
  const paired = scenarios.flatMap((scenario) => [find(scenario, 'ours'), find(scenario, 'floor')]);
  const verdicts: string[] = [];
  const rows = scenarios.flatMap((scenario) => {
    const [ours, floor] = [find(scenario, 'ours'), find(scenario, 'floor')];
    const ratio = ours && floor ? ours.rate / floor.rate : Number.NaN;
    const target = targets[scenario];
    const verdict = target === undefined || Number.isNaN(ratio) ? '' : ratio >= target ? 'PASS' : 'MISS';
    if (verdict)
      verdicts.push(`${verdict} ${shape.name} ${scenario}: ours ${ratio.toFixed(2)} × floor (target ≥ ${target})`);
    return [ours, floor].flatMap((f) =>
      f
        ? [
            {
              scenario,
              path: f.path,
              rate: `${f.rate} ${scenario === 'reads' ? 'req/s' : 'orders/s'}`,
              p50: `${f.p50} ms`,
              p99: `${f.p99} ms`,
              failed: f.failed,
              'ours / floor': f.path === 'ours' ? ratio.toFixed(2) : '',
              target: f.path === 'ours' && target !== undefined ? `≥ ${target}` : '',
              result: f.path === 'ours' ? verdict : '',
            },
          ]
        : [],
    );
  });
  console.log(`\n${shape.title}`);
  console.table(rows);
  console.log('cost per order (orders) or per request (reads):');
  console.table(paired.flatMap((f) => (f ? [costRow(f)] : [])));
  for (const line of verdicts) console.log(line);
}

function costRow(f: Measured) {
  const us = (n: number) => (Number.isNaN(n) ? '?' : `${Math.round(n)} µs`);
  const nodeTotal = Object.values(f.cost.nodeCpu).reduce((a, b) => a + b, 0);
  const parts = Object.entries(f.cost.nodeCpu);
  return {
    scenario: f.scenario,
    path: f.path,
    'node CPU':
      parts.length > 1 ? `${us(nodeTotal)} (${parts.map(([n, v]) => `${n} ${us(v)}`).join(', ')})` : us(nodeTotal),
    ...(f.cost.dbCpu === undefined ? {} : { 'db CPU': us(f.cost.dbCpu) }),
    'cores busy': ((f.rate * (nodeTotal + (f.cost.dbCpu ?? 0))) / 1e6).toFixed(2),
    ...Object.fromEntries(Object.entries(f.cost.server ?? {}).map(([k, v]) => [k, v.toFixed(1)])),
    ...(f.cost.writeTx === undefined ? {} : { 'write tx': f.cost.writeTx.toFixed(2) }),
  };
}
