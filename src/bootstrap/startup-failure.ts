/**
 * Start-up failures worded for the operator: one line saying what is wrong and which command fixes it.
 * The adapters classify what went wrong (DatabaseUnavailable, KafkaUnavailable); only this layer knows the
 * project's commands and settings. The CLI prints the message alone and exits 1.
 */
import { KafkaUnavailable } from '../adapters/messaging/kafka/kafka-unavailable.ts';
import { DatabaseUnavailable } from '../adapters/persistence/mikro-orm/database-unavailable.ts';
import { SETTINGS } from './settings.ts';

export class StartupFailure extends Error {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' ')); // one line, whatever a server's message held
    this.name = 'StartupFailure';
  }
}

/** Where `npm run services:up` puts MariaDB and Kafka: only there is it the fix. */
const LOCAL_MYSQL = /^(127\.0\.0\.1|localhost):3306$/;
const LOCAL_KAFKA = /^(127\.0\.0\.1|localhost):9092$/;
const SERVICES_UP = '`npm run services:up`';

const flagOf = (key: string) => SETTINGS.find((s) => s.key === key)?.flag ?? key;

/** A module database that could not be opened, as a StartupFailure with its fix; other errors pass through. */
export function explainDatabaseFailure(error: unknown, module: 'product' | 'order' | 'access'): unknown {
  if (!(error instanceof DatabaseUnavailable)) return error;
  return new StartupFailure(
    `cannot open the ${module} database at ${error.summary}; ${databaseFix(error, flagOf(`${module}DbUrl`))}`,
  );
}

function databaseFix({ reason, target: { address } }: DatabaseUnavailable, flag: string): string {
  const local = LOCAL_MYSQL.test(address);
  switch (reason) {
    case 'access-denied':
    case 'unknown-database': {
      const setup = `\`npx hexashop db setup --admin-url mysql://root@${address}\` with the same ${flag}`;
      return local
        ? `create the schemas and users with ${SERVICES_UP} (the defaults) or ${setup}`
        : `create the schema and user with ${setup}`;
    }
    case 'connection-refused':
    case 'timeout':
      return local
        ? `start the local services with ${SERVICES_UP}, or point ${flag} at a running server`
        : `start the MySQL server at ${address}, or point ${flag} at a running one`;
    default:
      return `check ${flag}`;
  }
}

/** Kafka that could not be reached or whose topics fall short, as a StartupFailure with its fix; other errors pass through. */
export function explainKafkaFailure(error: unknown): unknown {
  if (!(error instanceof KafkaUnavailable)) return error;
  const flag = flagOf('kafkaBrokers');
  if (error.reason === 'topics') {
    return new StartupFailure(
      `${error.message}; a topic with too few partitions must be recreated (adding partitions would move keys), ` +
        `or use another ${flagOf('kafkaNamespace')}; \`npx hexashop kafka topics\` shows what falls short`,
    );
  }
  const local = error.brokers.every((broker) => LOCAL_KAFKA.test(broker));
  const fix = local
    ? `start the local services with ${SERVICES_UP}, or point ${flag} at a running broker`
    : `start the broker, or point ${flag} at a running one`;
  return new StartupFailure(`${error.message}; ${fix}`);
}
