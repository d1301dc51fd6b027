/**
 * The chaos suite's own backing services (`scripts/services.sh up-chaos`): a MariaDB on 127.0.0.1:3310, a Redis on
 * 6380 and a Kafka broker on 9094, which it crashes (`kill-chaos mariadb|redis|kafka`: SIGKILL) and brings back with
 * `up-chaos` again. Here: each answers; each, killed, is gone (its port closed) while the other two go on; `up-chaos`
 * restarts only that one; MariaDB and Kafka come back with what was committed before the crash, Redis (no
 * persistence) comes back empty. The shared 3306/6379/9092 still answer at the end; `down-chaos` always runs last.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Partitioners } from 'kafkajs';
import mysql from 'mysql2/promise';
import { readTopic, testKafka } from '../support/kafka.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const PORTS = {
  mariadb: Number(process.env.HEXASHOP_CHAOS_MARIADB_PORT ?? 3310),
  redis: Number(process.env.HEXASHOP_CHAOS_REDIS_PORT ?? 6380),
  kafka: Number(process.env.HEXASHOP_CHAOS_KAFKA_PORT ?? 9094),
};
const SHARED = { mariadb: 3306, redis: 6379, kafka: 9092 };
type Service = keyof typeof PORTS;
const SERVICES: Service[] = ['mariadb', 'redis', 'kafka'];
const TOPIC = 'chaos-probe';

/** Runs scripts/services.sh; resolves with its stdout and how long it took. */
async function services(...args: string[]): Promise<{ stdout: string; seconds: number }> {
  const started = performance.now();
  try {
    const { stdout } = await promisify(execFile)('bash', [join(ROOT, 'scripts/services.sh'), ...args], {
      timeout: 170_000,
    });
    return { stdout, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `scripts/services.sh ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}\n${e.stdout ?? ''}`,
    );
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1_000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => (socket.destroy(), resolve(false)));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

async function sql<T = Record<string, unknown>>(port: number, query: string, params: unknown[] = []): Promise<T[]> {
  const connection = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 5_000 });
  try {
    const [rows] = await connection.query(query, params);
    return rows as T[];
  } finally {
    await connection.end();
  }
}

/** A Redis client that fails at once instead of reconnecting; closed after `use`. */
async function withRedis<T>(port: number, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  }).on('error', () => {});
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

async function listTopics(port: number): Promise<string[]> {
  const admin = testKafka([`127.0.0.1:${port}`]).admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

async function deleteTopic(port: number, topic: string): Promise<void> {
  const admin = testKafka([`127.0.0.1:${port}`]).admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(topic)) await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
}

/** Each service answers: MariaDB `select 1` as root over TCP, Redis PING, Kafka a topic list. */
const answers: Record<Service, (port: number) => Promise<unknown>> = {
  mariadb: async (port) => expect(await sql(port, 'select 1 as one')).to.deep.equal([{ one: 1 }]),
  redis: async (port) => expect(await withRedis(port, (r) => r.ping())).to.equal('PONG'),
  kafka: async (port) => expect(await listTopics(port)).to.be.an('array'),
};

describe('chaos backing services (scripts/services.sh up-chaos / kill-chaos / down-chaos)', function () {
  this.timeout(180_000);
  const suffix = randomBytes(4).toString('hex');
  const schema = `chaos_probe_${suffix}`;
  const redisKey = `chaos-probe:${suffix}`;
  const message = `probe-${suffix}`;
  const timings: string[] = [];

  before(async function () {
    const { stdout, seconds } = await services('up-chaos');
    timings.push(`up-chaos ${seconds.toFixed(1)} s`);
    console.log(`      [${stdout.trim().split('\n').join('; ')}]`);
  });

  after(async function () {
    this.timeout(120_000);
    // Best effort: leave nothing of ours behind on the (still running) chaos instances, then stop them.
    await sql(PORTS.mariadb, `drop database if exists \`${schema}\``).catch(() => undefined);
    await deleteTopic(PORTS.kafka, TOPIC).catch(() => undefined);
    const { seconds } = await services('down-chaos');
    timings.push(`down-chaos ${seconds.toFixed(1)} s`);
    console.log(`      [timings: ${timings.join(', ')}]`);
    for (const service of SERVICES) expect(await portOpen(PORTS[service]), service).to.equal(false);
  });

  it('all three answer: MariaDB as root over TCP, Redis PING, Kafka metadata', async () => {
    for (const service of SERVICES) await answers[service](PORTS[service]);
    const [charset] = await sql<Record<string, string>>(
      PORTS.mariadb,
      'select @@character_set_server as cs, @@collation_server as co, @@log_bin as lb',
    );
    expect(charset).to.deep.equal({ cs: 'utf8mb4', co: 'utf8mb4_bin', lb: 0 });
  });

  it('a second up-chaos leaves the running ones alone', async () => {
    const { stdout } = await services('up-chaos');
    for (const service of SERVICES) expect(stdout).to.include(`chaos-${service}: already running`);
  });

  it('writes a row, a key and a Kafka message', async () => {
    await sql(PORTS.mariadb, `create database \`${schema}\``);
    await sql(PORTS.mariadb, `create table \`${schema}\`.probe (id int primary key, v varchar(64)) engine=InnoDB`);
    await sql(PORTS.mariadb, `insert into \`${schema}\`.probe values (1, ?)`, [message]);
    await withRedis(PORTS.redis, (r) => r.set(redisKey, message));
    const kafka = testKafka([`127.0.0.1:${PORTS.kafka}`]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: suffix, value: message }] });
    } finally {
      await producer.disconnect();
    }
  });

  for (const service of SERVICES) {
    it(`kill-chaos ${service}: it is gone, the others go on; up-chaos restarts only it`, async () => {
      const killed = await services('kill-chaos', service);
      expect(killed.stdout).to.match(new RegExp(`^chaos-${service}: killed \\(pid \\d+\\)`, 'm'));
      expect(await portOpen(PORTS[service]), `${service} port after kill-chaos`).to.equal(false);
      for (const other of SERVICES.filter((s) => s !== service)) await answers[other](PORTS[other]);

      const restarted = await services('up-chaos');
      timings.push(`kill ${service} ${killed.seconds.toFixed(1)} s + restart ${restarted.seconds.toFixed(1)} s`);
      console.log(`      [${restarted.stdout.trim().split('\n').join('; ')}]`);
      expect(restarted.stdout).to.match(new RegExp(`^chaos-${service}: started \\(pid \\d+\\)`, 'm'));
      for (const other of SERVICES.filter((s) => s !== service))
        expect(restarted.stdout).to.include(`chaos-${other}: already running`);
      await answers[service](PORTS[service]);
    });
  }

  it('after the crashes: the MariaDB row and the Kafka topic and message survived; Redis came back empty', async () => {
    expect(await sql(PORTS.mariadb, `select id, v from \`${schema}\`.probe`)).to.deep.equal([{ id: 1, v: message }]);
    expect(await listTopics(PORTS.kafka)).to.include(TOPIC);
    const read = await readTopic([`127.0.0.1:${PORTS.kafka}`], TOPIC);
    expect(read.map((m) => m.value?.toString())).to.include(message);
    await withRedis(PORTS.redis, async (r) => {
      expect(await r.get(redisKey)).to.equal(null);
      expect(await r.dbsize()).to.equal(0);
    });
  });

  it('the shared MariaDB, Redis and Kafka (3306, 6379, 9092) still answer', async () => {
    for (const service of SERVICES) await answers[service](SHARED[service]);
  });
});
