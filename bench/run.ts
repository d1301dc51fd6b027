/**
 * Throughput and latency of the platform, measured from a separate load-generator process (autocannon)
 * against real roles started as child processes. Not a test: figures go to docs/performance.md.
 *
 *   npm run bench                          # the monolith (SQLite, in-process bus), sync and async orders
 *   npm run bench -- --target split        # gateway + product + order on MySQL, Kafka, Redis
 *   npm run bench -- --target gateway      # GET a product: direct vs through the gateway vs through nginx
 *   npm run bench -- --target floors       # orders and reads next to their floors (bench/floors/floors.ts)
 *   npm run bench -- --target reads        # GET a product: cache tiers, read replica, primary, floor (reads.ts)
 *   npm run bench -- --duration 20 --connections 32
 *   npm run bench -- --scenarios sync --baseline HEAD~3 --rounds 3
 *                                          # before and after in one run: the baseline revision's code and
 *                                          # this tree's take turns, round by round; medians are compared
 *   npm run bench -- --target gateway --baseline HEAD~3   # the baseline's gateway is one more target
 *   npm run bench -- --scenarios sync --cpu-prof /tmp/prof   # every role leaves a CPU profile there
 */
import { parseArgs } from 'node:util';
import { checkoutBaseline } from './baseline.ts';
import { benchFloors } from './floors/floors.ts';
import { benchGateway } from './gateway.ts';
import { benchMix } from './mix.ts';
import { benchReads } from './reads.ts';
import { load, type LoadFigure } from './load.ts';
import { profileRolesInto, startMonolithProcess, startSplitProcesses } from './platform.ts';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'monolith' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    rounds: { type: 'string' },
    scenarios: { type: 'string', default: 'get,sync,async' },
    baseline: { type: 'string' },
    'cpu-prof': { type: 'string' },
    shape: { type: 'string', default: 'monolith' },
    customers: { type: 'string', default: '32' },
    'think-ms': { type: 'string', default: '0' },
  },
});
const duration = Number(values.duration);
profileRolesInto(values['cpu-prof']);
const connections = Number(values.connections);

interface Figure extends LoadFigure {
  code: string;
}

type Scenario = 'get' | 'sync' | 'async';
const chosen = values.scenarios.split(',').map((s) => s.trim()) as Scenario[];
for (const s of chosen) if (!['get', 'sync', 'async'].includes(s)) throw new Error(`unknown scenario ${s}`);

/** One platform, freshly started from `codeDir` on empty databases, through the chosen scenarios. */
async function measure(code: string, codeDir: string): Promise<Figure[]> {
  const platform = values.target === 'split' ? await startSplitProcesses(codeDir) : await startMonolithProcess(codeDir);
  try {
    const admin = platform.token('root', 'admin');
    const customer = platform.token('bench', 'customer');
    const product = await platform.createProduct(admin, 1_000_000_000);
    const figures: Figure[] = [];
    const json = { 'content-type': 'application/json' };
    if (chosen.includes('get')) {
      const path = `/api/v1/products/${product}`;
      figures.push({
        code,
        ...(await load(platform.url, { connections, duration }, 'GET /api/v1/products/{id}', { method: 'GET', path })),
      });
    }
    for (const mode of ['sync', 'async'] as const) {
      if (!chosen.includes(mode)) continue;
      const figure = await load(platform.url, { connections, duration }, `POST /api/v1/orders (${mode})`, {
        method: 'POST',
        path: `/api/v1/orders?mode=${mode}`,
        headers: { ...json, authorization: `Bearer ${customer}` },
        body: JSON.stringify({ items: [{ productId: product, quantity: 1 }] }),
      });
      figures.push({ code, ...figure });
    }
    if (chosen.includes('async'))
      console.log(`${code}: pending orders settled ${await platform.timeToSettle(customer)} ms after the load`);
    return figures;
  } finally {
    await platform.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const baseline = values.baseline ? checkoutBaseline(values.baseline) : undefined;
  const codes = [
    ...(baseline ? [{ code: `baseline ${baseline.label}`, dir: baseline.dir }] : []),
    { code: 'this tree', dir: '.' },
  ];
  const rounds = Number(values.rounds ?? (baseline ? 3 : 1));
  const figures: Figure[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const { code, dir } of codes) figures.push(...(await measure(code, dir)));
    }
  } finally {
    baseline?.remove();
  }
  console.log(
    `\n${values.target}: ${connections} connections, ${duration}s per scenario, ${rounds} round(s), ${new Date().toISOString()}`,
  );
  console.table(figures.map((f) => ({ ...f, p50: `${f.p50} ms`, p99: `${f.p99} ms` })));
  if (rounds > 1) {
    const keys = [...new Set(figures.map((f) => `${f.scenario}\u0000${f.code}`))];
    console.log('medians over the rounds:');
    console.table(
      keys.map((key) => {
        const [scenario, code] = key.split('\u0000') as [string, string];
        const of = figures.filter((f) => f.scenario === scenario && f.code === code);
        return {
          scenario,
          code,
          requestsPerSecond: median(of.map((f) => f.requestsPerSecond)),
          p50: `${median(of.map((f) => f.p50))} ms`,
          p99: `${median(of.map((f) => f.p99))} ms`,
        };
      }),
    );
  }
}

async function gatewayBench() {
  const baseline = values.baseline ? checkoutBaseline(values.baseline) : undefined;
  try {
    await benchGateway({
      duration,
      connections,
      rounds: Number(values.rounds ?? 3),
      cpuProfDir: values['cpu-prof'],
      baseline: baseline && { label: baseline.label, dir: baseline.dir },
    });
  } finally {
    baseline?.remove();
  }
}

if (values.target === 'gateway') await gatewayBench();
else if (values.target === 'mix')
  await benchMix({
    shape: values.shape,
    duration,
    customers: Number(values.customers),
    thinkMs: Number(values['think-ms']),
  });
else if (values.target === 'floors') await benchFloors({ duration, connections, scenarios: chosen });
else if (values.target === 'reads') await benchReads({ duration, connections });
else await main();
