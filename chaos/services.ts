/**
 * The backing services a chaos run may crash: a MariaDB, a Redis and a Kafka broker of its own
 * (`scripts/services.sh up-chaos`, on 127.0.0.1:3310, 6380 and 9094), never the shared ones every other
 * suite uses. Crashing one is SIGKILL (no clean shutdown); bringing it back is `up-chaos` again, which
 * starts only what is down, on the same data.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export type BackingService = 'mariadb' | 'redis' | 'kafka';

export interface ChaosServices {
  mysqlAdminUrl: string;
  kafkaBrokers: string[];
  redisUrl: string;
  /** SIGKILL one of them, and wait until it is gone. */
  crash(service: BackingService): Promise<void>;
  /** Start whatever is down again; resolves once it answers. */
  restore(): Promise<void>;
  /** Stop all three (the end of a run). */
  stop(): Promise<void>;
}

const run = promisify(execFile);
const script = (...args: string[]) => run('bash', ['scripts/services.sh', ...args], { timeout: 5 * 60_000 });

const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

export async function chaosServices(): Promise<ChaosServices> {
  await script('up-chaos');
  return {
    mysqlAdminUrl: `mysql://root@127.0.0.1:${port('HEXASHOP_CHAOS_MARIADB_PORT', 3310)}/mysql`,
    kafkaBrokers: [`127.0.0.1:${port('HEXASHOP_CHAOS_KAFKA_PORT', 9094)}`],
    redisUrl: `redis://127.0.0.1:${port('HEXASHOP_CHAOS_REDIS_PORT', 6380)}`,
    crash: async (service) => void (await script('kill-chaos', service)),
    restore: async () => void (await script('up-chaos')),
    stop: async () => void (await script('down-chaos')),
  };
}
