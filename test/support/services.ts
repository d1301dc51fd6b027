import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * Where the integration suites find MariaDB/MySQL, Kafka and Redis. One helper decides, in this order:
 * 1. testcontainers, when a Docker engine is reachable (MySQL 8, Kafka in KRaft mode, Redis);
 * 2. URLs from the environment (HEXASHOP_TEST_MYSQL_ADMIN_URL, HEXASHOP_TEST_KAFKA_BROKERS, HEXASHOP_TEST_REDIS_URL);
 * 3. the project's local services script (`scripts/services.sh up`), on the default local ports.
 * The suite prints which one it used.
 */
export interface IntegrationServices {
  source: 'testcontainers' | 'environment' | 'local services script';
  /** A MySQL URL with rights to create databases and users (tests make their own, with unique names). */
  mysqlAdminUrl: string;
  kafkaBrokers: string[];
  redisUrl: string;
  dispose(): Promise<void>;
}

let services: Promise<IntegrationServices> | undefined;

export function integrationServices(): Promise<IntegrationServices> {
  services ??= resolveServices().then((s) => {
    console.log(`      [integration services from ${s.source}]`);
    return s;
  });
  return services;
}

async function resolveServices(): Promise<IntegrationServices> {
  if (await dockerReachable()) return fromTestcontainers();
  const env = process.env;
  if (env.HEXASHOP_TEST_MYSQL_ADMIN_URL && env.HEXASHOP_TEST_KAFKA_BROKERS && env.HEXASHOP_TEST_REDIS_URL) {
    return {
      source: 'environment',
      mysqlAdminUrl: env.HEXASHOP_TEST_MYSQL_ADMIN_URL,
      kafkaBrokers: env.HEXASHOP_TEST_KAFKA_BROKERS.split(','),
      redisUrl: env.HEXASHOP_TEST_REDIS_URL,
      dispose: async () => {},
    };
  }
  await promisify(execFile)('bash', ['scripts/services.sh', 'up'], { timeout: 10 * 60_000 });
  return {
    source: 'local services script',
    mysqlAdminUrl: 'mysql://root@127.0.0.1:3306/mysql',
    kafkaBrokers: ['127.0.0.1:9092'],
    redisUrl: 'redis://127.0.0.1:6379',
    dispose: async () => {},
  };
}

async function dockerReachable(): Promise<boolean> {
  if (process.env.HEXASHOP_TEST_NO_DOCKER === 'true') return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const client = await getContainerRuntimeClient();
    return Boolean(client.info.containerRuntime);
  } catch {
    return false;
  }
}

async function fromTestcontainers(): Promise<IntegrationServices> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const [mysql, redis, kafka] = await Promise.all([
    new GenericContainer('mysql:8.4')
      .withEnvironment({ MYSQL_ROOT_PASSWORD: 'root' })
      .withExposedPorts(3306)
      .withWaitStrategy(Wait.forLogMessage(/ready for connections.*port: 3306/))
      .start(),
    new GenericContainer('redis:7').withExposedPorts(6379).start(),
    new GenericContainer('apache/kafka:4.1.0')
      .withExposedPorts({ container: 9092, host: 19092 })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://127.0.0.1:19092',
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start(),
  ]);
  return {
    source: 'testcontainers',
    mysqlAdminUrl: `mysql://root:root@${mysql.getHost()}:${mysql.getMappedPort(3306)}/mysql`,
    kafkaBrokers: [`127.0.0.1:19092`],
    redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
    dispose: async () => {
      await Promise.all([mysql.stop(), redis.stop(), kafka.stop()]);
    },
  };
}
