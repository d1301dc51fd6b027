/**
 * The gateway's cost as a reverse proxy: GET /api/v1/products/{id} against one product service process,
 * (1) directly, (2) through our gateway role (authentication, rate limits, routing, health checks,
 * breakers, as the role mounts them), (3) through nginx as a plain keep-alive reverse proxy and (4) through
 * the floor for a proxy on Node (bench/floor-proxy.ts: node:http + undici and nothing else), from
 * autocannon in this process; every server is a process of its own. The targets take turns, round after
 * round, and the median round of each is reported, with the CPU each server process used.
 *
 *   npm run bench -- --target gateway [--duration 10] [--connections 16] [--rounds 3] [--cpu-prof DIR]
 *
 * With --cpu-prof, the gateway runs under `node --cpu-prof` and leaves its profile in DIR when stopped.
 *
 * Needs nginx on the PATH or in /usr/sbin (`apt-get install -y nginx`); Redis on 127.0.0.1:6379 is used
 * when it runs (the split roles' default store for cache and rate limits), and skipped when it does not.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { signToken } from '../src/edge/http/auth.ts';
import { freePort } from '../test/support/ports.ts';
import { BENCH_JWT, BENCH_SECRET, untilOk } from './platform.ts';
import { writeResults } from './results.ts';

export interface GatewayBenchOptions {
  duration: number;
  connections: number;
  rounds: number;
  /** Where the gateway's CPU profile goes (none: not profiled). */
  cpuProfDir?: string | undefined;
  /** Another revision's gateway, measured beside this tree's as one more target (see baseline.ts). */
  baseline?: { label: string; dir: string } | undefined;
}

interface Figure {
  target: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU used by each server process during the run, in % of one core. */
  cpu: Record<string, number>;
}

const children: ChildProcess[] = [];

function start(command: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = '.'): ChildProcess {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

function startRole(
  role: string,
  port: number,
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
  codeDir = '.',
): ChildProcess {
  const args = [...nodeArgs, 'bin/hexashop.js', 'start', '--role', role, '--port', String(port)];
  return start(
    process.execPath,
    args,
    { HEXASHOP_JWT_SECRET: BENCH_SECRET, HEXASHOP_LOG_LEVEL: 'warn', ...env },
    codeDir,
  );
}

const ready = untilOk;

function nginxBinary(): string {
  for (const candidate of ['nginx', '/usr/sbin/nginx', '/usr/local/sbin/nginx']) {
    if (spawnSync(candidate, ['-v']).status === 0) return candidate;
  }
  throw new Error('nginx not found: install it first (apt-get update && apt-get install -y nginx)');
}

/** nginx in the foreground from a temporary prefix: one worker, keep-alive pool to the product service. */
function startNginx(prefix: string, port: number, upstreamPort: number): ChildProcess {
  for (const dir of ['logs', 'tmp']) mkdirSync(join(prefix, dir), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  upstream product {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://product;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`,
  );
  return start(nginxBinary(), ['-p', prefix, '-c', conf, '-e', `${prefix}/logs/error.log`]);
}

/** CPU time (user + system, in clock ticks of 10 ms) of a process and its children, e.g. nginx workers. */
function cpuTicks(pid: number): number {
  const read = (p: number): number => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      // After the command: state is field 0; utime 11, stime 12, cutime 13, cstime 14.
      const own = Number(fields[11]) + Number(fields[12]);
      const kids = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return own + kids.reduce((sum, kid) => sum + read(Number(kid)), 0);
    } catch {
      return 0;
    }
  };
  return read(pid);
}

async function measure(
  target: string,
  url: string,
  path: string,
  processes: Record<string, ChildProcess>,
  options: GatewayBenchOptions,
): Promise<Figure> {
  const request = { url: `${url}${path}`, connections: options.connections };
  await autocannon({ ...request, duration: 2 }); // warm-up: JIT, connection pools
  const before = Object.fromEntries(Object.entries(processes).map(([n, p]) => [n, cpuTicks(p.pid!)]));
  const started = performance.now();
  const result = await autocannon({ ...request, duration: options.duration });
  const seconds = (performance.now() - started) / 1000;
  const cpu = Object.fromEntries(
    Object.entries(processes).map(([n, p]) => [n, Math.round((cpuTicks(p.pid!) - before[n]!) / seconds)]),
  );
  return {
    target,
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    cpu,
  };
}

const median = (figures: Figure[]) =>
  [...figures].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(figures.length / 2)]!;

export async function benchGateway(options: GatewayBenchOptions): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hexashop-bench-gw-'));
  const nginxPrefix = join(dataDir, 'nginx');
  const [productPort, gatewayPort, nginxPort, floorPort, baselinePort] = (await Promise.all(
    [1, 2, 3, 4, 5].map(() => freePort()),
  )) as [number, number, number, number, number];
  const productUrl = `http://127.0.0.1:${productPort}`;
  const baselineTarget = options.baseline ? `gateway ${options.baseline.label}` : undefined;
  const targets: Record<string, string> = {
    direct: productUrl,
    gateway: `http://127.0.0.1:${gatewayPort}`,
    ...(baselineTarget ? { [baselineTarget]: `http://127.0.0.1:${baselinePort}` } : {}),
    nginx: `http://127.0.0.1:${nginxPort}`,
    'node floor': `http://127.0.0.1:${floorPort}`,
  };
  try {
    const product = startRole('product', productPort, {
      HEXASHOP_STORAGE: 'sqlite',
      HEXASHOP_BUS: 'in-process',
      HEXASHOP_DATA_DIR: dataDir,
    });
    await ready(`${productUrl}/health/ready`);
    const gatewayEnv = {
      HEXASHOP_BUS: 'in-process',
      HEXASHOP_DATA_DIR: dataDir,
      HEXASHOP_PRODUCT_UPSTREAMS: productUrl,
      HEXASHOP_ORDER_UPSTREAMS: productUrl,
      // Rate limiting stays mounted (it is part of the cost), with budgets this load cannot spend.
      HEXASHOP_RATE_LIMIT_READ: '1000000000',
      HEXASHOP_RATE_LIMIT_WRITE: '1000000000',
    };
    const gateway = startRole(
      'gateway',
      gatewayPort,
      gatewayEnv,
      options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [],
    );
    const baseline = options.baseline
      ? startRole('gateway', baselinePort, gatewayEnv, [], options.baseline.dir)
      : undefined;
    const nginx = startNginx(nginxPrefix, nginxPort, productPort);
    const floor = start(process.execPath, ['bench/floor-proxy.ts', String(floorPort), productUrl]);
    await ready(`${targets.gateway}/health/ready`);
    if (baselineTarget) await ready(`${targets[baselineTarget]}/health/ready`);
    await ready(`${targets.nginx}/health/live`);
    await ready(`${targets['node floor']}/health/live`);

    const admin = signToken(BENCH_JWT, { id: 'bench', role: 'admin' }, 3600);
    const created = await fetch(`${productUrl}/api/v1/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sku: `BENCH-${Date.now()}`, name: 'Bench', priceCents: 100, currency: 'EUR', stock: 1 }),
    });
    if (created.status !== 201) throw new Error(`creating the product failed: ${created.status}`);
    const path = `/api/v1/products/${((await created.json()) as { id: string }).id}`;
    for (const url of Object.values(targets)) {
      const status = (await fetch(`${url}${path}`)).status;
      if (status !== 200) throw new Error(`${url}${path} answered ${status}`);
    }

    const processes: Record<string, Record<string, ChildProcess>> = {
      direct: { product },
      gateway: { product, gateway },
      ...(baselineTarget && baseline ? { [baselineTarget]: { product, gateway: baseline } } : {}),
      nginx: { product, nginx },
      'node floor': { product, 'node floor': floor },
    };
    const names = Object.keys(targets);
    const rounds = Object.fromEntries(names.map((t) => [t, [] as Figure[]]));
    for (let round = 0; round < options.rounds; round++) {
      for (const target of names) {
        const figure = await measure(target, targets[target]!, path, processes[target]!, options);
        rounds[target]!.push(figure);
        // CPU time per request of each process: steadier than throughput on shared cores.
        const perRequest = Object.entries(figure.cpu)
          .map(([name, cpu]) => `${name} ${Math.round((cpu * 10_000) / Math.max(1, figure.requestsPerSecond))} µs/req`)
          .join(', ');
        console.error(
          `round ${round + 1} ${target}: ${figure.requestsPerSecond} req/s, p99 ${figure.p99} ms; ${perRequest}`,
        );
      }
    }

    const summary = Object.values(rounds).map(median);
    const rate = (t: string) => summary.find((f) => f.target === t)!.requestsPerSecond;
    console.log(
      `\nGET ${path.replace(/[^/]+$/, '{id}')}: ${options.connections} connections, ${options.duration}s per run, ` +
        `median of ${options.rounds} rounds, ${new Date().toISOString()}`,
    );
    console.table(
      summary.map((f) => ({
        target: f.target,
        'req/s': f.requestsPerSecond,
        p50: `${f.p50} ms`,
        p99: `${f.p99} ms`,
        non2xx: f.non2xx,
        errors: f.errors,
        'cpu %': Object.entries(f.cpu)
          .map(([n, c]) => `${n} ${c}`)
          .join(', '),
      })),
    );
    const ratio = (a: string, b: string) =>
      console.log(`${a} / ${b} throughput: ${((rate(a) / rate(b)) * 100).toFixed(1)} %`);
    ratio('gateway', 'nginx');
    ratio('node floor', 'nginx');
    ratio('gateway', 'node floor');
    ratio('gateway', 'direct');
    if (baselineTarget) ratio('gateway', baselineTarget);
    const bars = summary.map((f) => {
      const proxyCpu = Object.entries(f.cpu).find(([name]) => name !== 'product')?.[1];
      const perRequest =
        proxyCpu === undefined ? '' : `, ${Math.round((proxyCpu * 10_000) / f.requestsPerSecond)} µs/req`;
      return {
        group: 'GET /api/v1/products/{id}',
        label: f.target,
        value: f.requestsPerSecond,
        unit: 'req/s',
        note: `p50 ${f.p50} ms, p99 ${f.p99} ms${perRequest}`,
      };
    });
    const title = `The gateway beside nginx and a bare Node proxy (median of ${options.rounds} rounds)`;
    console.log(`chart and figures: ${writeResults('gateway', title, { rounds, summary }, bars)} (and .json)`);
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise((resolve) =>
            c.exitCode !== null || c.signalCode !== null ? resolve(null) : (c.once('exit', resolve), c.kill('SIGTERM')),
          ),
      ),
    );
    if (existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
  }
}
