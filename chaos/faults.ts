/**
 * The faults a chaos run injects, one after another, each for a while under load and then healed; and the
 * schedule that runs them and remembers when each one began, was healed and ended.
 */
import type { Platform } from './platform.ts';

export interface Fault {
  name: string;
  /** What it does, for the report. */
  what: string;
  kind: Platform['kind'] | 'both';
  inject(platform: Platform): Promise<void>;
  heal(platform: Platform): Promise<void>;
}

/** When a fault was in force: [start, healedAt) faulty, then observed until `end`. */
export interface Window {
  fault: string;
  what: string;
  start: number;
  injectedAt: number;
  /** When the heal began (the restart issued, the proxy restored…). */
  healStartedAt: number;
  healedAt: number;
  end: number;
  /** Anything the fault itself noticed (e.g. a graceful stop that did not exit 0). */
  notes: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const proxies = (platform: Platform) => platform.instances.flatMap((each) => (each.proxy ? [each.proxy] : []));

/** `instance` gone and back: SIGKILL, a moment down, then started again on the same port and data. */
const crash = (instance: string, kind: Fault['kind']): Fault => ({
  name: `kill -9 ${instance}`,
  what: `SIGKILL ${instance}, restart it`,
  kind,
  inject: (p) => p.instance(instance).kill(),
  heal: (p) => p.instance(instance).start(),
});

/** SIGTERM under load: the process drains and exits 0 on its own, then starts again. */
const gracefulStop = (instance: string, kind: Fault['kind'], notes: string[]): Fault => ({
  name: `SIGTERM ${instance}`,
  what: `SIGTERM ${instance} under load (drain), restart it`,
  kind,
  inject: async (p) => {
    const code = await p.instance(instance).terminate();
    if (code !== 0) notes.push(`${instance} exited ${code} after SIGTERM`);
  },
  heal: (p) => p.instance(instance).start(),
});

export function faultsFor(kind: Platform['kind']): { faults: Fault[]; notes: Map<string, string[]> } {
  const notes = new Map<string, string[]>();
  const noted = (name: string) => {
    const list: string[] = [];
    notes.set(name, list);
    return list;
  };
  const all: Fault[] = [
    crash('product-1', 'split'),
    crash('order-1', 'split'),
    crash('gateway', 'split'),
    {
      name: 'SIGSTOP product-2',
      what: 'SIGSTOP a product instance (a consumer of order-events) past the 6 s session timeout, then SIGCONT',
      kind: 'split',
      inject: async (p) => p.instance('product-2').pause(),
      heal: async (p) => p.instance('product-2').resume(),
    },
    {
      name: 'Kafka restart',
      what: 'SIGKILL the broker, start it again',
      kind: 'split',
      inject: (p) => p.services!.crash('kafka'),
      heal: (p) => p.services!.restore(),
    },
    {
      name: 'MariaDB restart',
      what: 'SIGKILL MariaDB mid-checkout, start it again (crash recovery)',
      kind: 'split',
      inject: (p) => p.services!.crash('mariadb'),
      heal: (p) => p.services!.restore(),
    },
    {
      name: 'Redis outage',
      what: 'SIGKILL Redis, start it again empty',
      kind: 'split',
      inject: (p) => p.services!.crash('redis'),
      heal: (p) => p.services!.restore(),
    },
    {
      name: 'latency',
      what: '300 ms added each way between the gateway and the roles and between order and product',
      kind: 'split',
      inject: async (p) => proxies(p).forEach((proxy) => proxy.delay(300)),
      heal: async (p) => proxies(p).forEach((proxy) => proxy.delay(0)),
    },
    {
      name: 'dropped connections',
      what: 'every chunk between services resets its connection with probability 0.05',
      kind: 'split',
      inject: async (p) => proxies(p).forEach((proxy) => proxy.drop(0.05)),
      heal: async (p) => proxies(p).forEach((proxy) => proxy.drop(0)),
    },
    gracefulStop('order-1', 'split', noted('SIGTERM order-1')),
    gracefulStop('product-1', 'split', noted('SIGTERM product-1')),
    crash('monolith', 'monolith'),
    gracefulStop('monolith', 'monolith', noted('SIGTERM monolith')),
  ];
  return { faults: all.filter((f) => f.kind === kind || f.kind === 'both'), notes };
}

export interface ScheduleOptions {
  /** How long a fault stays in force (a paused consumer: at least past the session timeout). */
  holdMs: number;
  /** How long the load runs after each heal before the next fault. */
  observeMs: number;
  /** Steady load before the first fault (the baseline row). */
  warmupMs: number;
  /** Faults whose hold must outlast something (the 6 s Kafka session for SIGSTOP). */
  minimumHoldMs?: Record<string, number>;
}

/** Runs the faults in order under whatever load is running; returns each one's window. */
export async function runSchedule(
  platform: Platform,
  faults: Fault[],
  notes: Map<string, string[]>,
  options: ScheduleOptions,
  log: (line: string) => void = () => {},
): Promise<Window[]> {
  const windows: Window[] = [];
  const started = Date.now();
  await sleep(options.warmupMs);
  windows.push({
    fault: 'none (steady load)',
    what: 'no fault',
    start: started,
    injectedAt: started,
    healStartedAt: started,
    healedAt: started,
    end: Date.now(),
    notes: [],
  });
  for (const fault of faults) {
    const start = Date.now();
    log(`inject: ${fault.name}`);
    await fault.inject(platform);
    const injectedAt = Date.now();
    await sleep(Math.max(options.holdMs, options.minimumHoldMs?.[fault.name] ?? 0));
    const healStartedAt = Date.now();
    await fault.heal(platform);
    const healedAt = Date.now();
    log(`healed: ${fault.name} after ${((healedAt - injectedAt) / 1000).toFixed(1)} s`);
    await sleep(options.observeMs);
    windows.push({
      fault: fault.name,
      what: fault.what,
      start,
      injectedAt,
      healStartedAt,
      healedAt,
      end: Date.now(),
      notes: notes.get(fault.name) ?? [],
    });
  }
  return windows;
}
