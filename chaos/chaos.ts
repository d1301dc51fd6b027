/**
 * One chaos run on one shape of the platform: start it, create a catalog, run the clients while the
 * schedule injects and heals faults, stop the clients, wait for the platform to settle, check the history.
 */
import { awaitQuiescence, check, type Verdict } from './checker.ts';
import { faultsFor, runSchedule } from './faults.ts';
import { type Platform, startMonolithPlatform, startSplitPlatform } from './platform.ts';
import { chaosServices } from './services.ts';
import { createCatalog, Workload } from './workload.ts';

export interface ChaosOptions {
  shape: Platform['kind'];
  /** Fault names to run (default: every fault of the shape). */
  only?: string[];
  clients: number;
  ratePerClient: number;
  holdMs: number;
  observeMs: number;
  warmupMs: number;
  /** How long after the load stops every order must be final (the sync crash guard is 30 s). */
  settleBoundMs: number;
  products: number;
  stock: number;
  log?: (line: string) => void;
}

/** The short run `npm test` includes: every fault once, briefly, under a light load. */
export const SHORT: Omit<ChaosOptions, 'shape'> = {
  clients: 4,
  ratePerClient: 5,
  holdMs: 3_000,
  observeMs: 3_000,
  warmupMs: 3_000,
  settleBoundMs: 60_000,
  products: 6,
  stock: 400,
};

/** `npm run chaos`: longer faults, more clients. */
export const LONG: Omit<ChaosOptions, 'shape'> = {
  clients: 8,
  ratePerClient: 6,
  holdMs: 10_000,
  observeMs: 10_000,
  warmupMs: 10_000,
  settleBoundMs: 90_000,
  products: 8,
  stock: 1_500,
};

export interface ChaosResult {
  shape: Platform['kind'];
  verdict: Verdict;
  /** Every process's output, for reading why a violation happened. */
  logs: Record<string, string>;
  seconds: number;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const services = options.shape === 'split' ? await chaosServices() : undefined;
  const platform = options.shape === 'split' ? await startSplitPlatform(services!) : await startMonolithPlatform();
  try {
    log(`${options.shape}: started ${platform.instances.map((i) => i.name).join(', ')}`);
    const catalog = await createCatalog(platform, options.products, options.stock);
    const { faults, notes } = faultsFor(options.shape);
    const chosen = options.only ? faults.filter((f) => options.only!.includes(f.name)) : faults;
    const workload = new Workload(platform, catalog, {
      clients: options.clients,
      ratePerClient: options.ratePerClient,
    });
    workload.start();
    const windows = await runSchedule(
      platform,
      chosen,
      notes,
      {
        holdMs: options.holdMs,
        observeMs: options.observeMs,
        warmupMs: options.warmupMs,
        // Past the 6 s Kafka session: the group must hand the frozen consumer's partitions to the other one.
        minimumHoldMs: { 'SIGSTOP product-2': 9_000 },
      },
      log,
    );
    const history = await workload.stop();
    log(`${options.shape}: load stopped after ${history.length} operations; waiting for the platform to settle`);
    const settled = await awaitQuiescence(platform, options.settleBoundMs);
    const verdict = await check(platform, catalog, history, windows, settled);
    return {
      shape: options.shape,
      verdict,
      logs: Object.fromEntries(platform.instances.map((i) => [i.name, i.logs()])),
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await platform.dispose();
    await services?.stop();
  }
}

/** The table per fault, and the totals, as the report prints them. */
export function formatResult(result: ChaosResult): string {
  const { rows, totals, violations } = result.verdict;
  const header =
    '| fault | operations | failed attempts | unresolved | lost | duplicated | recovery (s) | slowest settle (s) |';
  const lines = [
    `### ${result.shape} (${result.seconds.toFixed(0)} s)`,
    '',
    header,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.fault}${r.notes.length ? ` (${r.notes.join('; ')})` : ''} | ${r.operations} | ${r.failedAttempts} | ${r.unresolved} | ${r.lost} | ${r.duplicated} | ${r.recoverySeconds.toFixed(1)} | ${r.settleMaxSeconds.toFixed(2)} |`,
    ),
    '',
    'What the clients got when an attempt failed:',
    ...rows.filter((r) => r.failures.length > 0).map((r) => `- ${r.fault}: ${r.failures.join(', ')}`),
    '',
    `operations ${totals.operations}, orders acknowledged ${totals.acknowledgedOrders}, in order_db ${totals.orders} ` +
      `(confirmed ${totals.confirmed}, rejected ${totals.rejected}, cancelled ${totals.cancelled}); ` +
      `PENDING at the end ${totals.pendingAtEnd} (settled ${totals.settledAfterSeconds.toFixed(1)} s after the load stopped); ` +
      `dead letters ${totals.deadLetters}; events delivered more than once ${totals.redeliveredEvents}`,
    '',
    violations.length === 0
      ? 'checks: lost 0, duplicated 0, stock conserved, every order settled, no dead letter: PASS'
      : `checks: ${violations.length} violations: FAIL\n${violations
          .slice(0, 30)
          .map((v) => `- [${v.check}] ${v.detail}`)
          .join('\n')}`,
  ];
  return lines.join('\n');
}
