/**
 * What an order or a request cost over a measured window: CPU of the Node processes doing the work (the
 * caller says how to read it: our roles' /metrics, the floor's own process), and on MySQL the server's CPU
 * (from /proc) and its own counters (statements, commits, fsyncs).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { openMysqlAdmin } from '../../src/adapters/persistence/mikro-orm/mysql-setup.ts';
import { MYSQL_ADMIN_URL } from './scratch.ts';

/** Per order (or per request), over the measured window. */
export interface Cost {
  /** CPU of the Node processes doing the work, µs, by process. */
  nodeCpu: Record<string, number>;
  /** CPU of the database server, µs (MySQL only; SQLite runs inside the Node process). */
  dbCpu?: number;
  /** MySQL's own counters: statements, commits, redo-log fsyncs. */
  server?: Record<string, number>;
  /** Write transactions the floor committed (it counts its own). */
  writeTx?: number;
}

export const cpuSeconds = ({ user, system }: NodeJS.CpuUsage) => (user + system) / 1e6;
const TICKS_PER_SECOND = 100;

/** User + system CPU of a process, from /proc (clock ticks of 10 ms). */
export function childCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** The local MySQL/MariaDB server's pid, for its CPU; undefined where it cannot be seen. */
function databaseServerPid(): number | undefined {
  for (const name of ['mariadbd', 'mysqld']) {
    try {
      const pid = Number(execFileSync('pidof', ['-s', name], { encoding: 'utf8' }).trim());
      if (pid > 0) return pid;
    } catch {
      // not running under this name
    }
  }
  return undefined;
}

/** Each column is the sum of the server's status variables listed (those it does not have count 0). */
const SERVER_COUNTERS: Record<string, string[]> = {
  selects: ['Com_select'],
  inserts: ['Com_insert'],
  updates: ['Com_update'],
  deletes: ['Com_delete'],
  commits: ['Com_commit'],
  // MariaDB counts redo-log fsyncs in Innodb_data_fsyncs; MySQL 8 apart, in Innodb_os_log_fsyncs.
  fsyncs: ['Innodb_data_fsyncs', 'Innodb_os_log_fsyncs'],
};

async function serverCounters(): Promise<Record<string, number>> {
  const admin = await openMysqlAdmin(MYSQL_ADMIN_URL);
  try {
    const names = Object.values(SERVER_COUNTERS).flat();
    const rows = await admin.execute<{ Variable_name: string; Value: string }>(
      `show global status where Variable_name in (${names.map(() => '?').join(', ')})`,
      names,
    );
    const byName = new Map(rows.map((r) => [r.Variable_name.toLowerCase(), Number(r.Value)]));
    const sum = (of: string[]) => of.reduce((total, name) => total + (byName.get(name.toLowerCase()) ?? 0), 0);
    return Object.fromEntries(Object.entries(SERVER_COUNTERS).map(([label, of]) => [label, sum(of)]));
  } finally {
    await admin.close();
  }
}

export interface Meter {
  /** Samples again: what was spent since the meter started. */
  stop(): Promise<Spent>;
}

export interface Spent {
  /** Divided by the orders or requests served meanwhile. */
  per(units: number): Cost;
}

/**
 * Samples the costs as a measured window opens. With `mysql`, also the server's CPU and counters
 * (global: nothing else should be using the server meanwhile).
 */
export async function startMeter(nodeCpu: () => Promise<Record<string, number>>, mysql: boolean): Promise<Meter> {
  const dbPid = mysql ? databaseServerPid() : undefined;
  const sample = async () => ({
    node: await nodeCpu(),
    db: dbPid === undefined ? Number.NaN : childCpuSeconds(dbPid),
    server: mysql ? await serverCounters() : undefined,
  });
  const before = await sample();
  return {
    async stop() {
      const after = await sample();
      return {
        per(units) {
          const per = (delta: number, scale = 1) => (delta * scale) / Math.max(1, units);
          const delta = (a: Record<string, number>, b: Record<string, number>, scale = 1) =>
            Object.fromEntries(Object.keys(b).map((k) => [k, per(b[k]! - a[k]!, scale)]));
          return {
            nodeCpu: delta(before.node, after.node, 1e6),
            ...(dbPid === undefined ? {} : { dbCpu: per(after.db - before.db, 1e6) }),
            ...(before.server && after.server ? { server: delta(before.server, after.server) } : {}),
          };
        },
      };
    },
  };
}
