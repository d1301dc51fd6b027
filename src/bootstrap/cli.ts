import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ALGORITHMS, type AsymmetricAlgorithm, generateSigningKey } from '../adapters/auth/keys.ts';
import { signToken } from '../edge/http/auth.ts';
import { setupMysql } from '../adapters/persistence/mikro-orm/mysql-setup.ts';
import { migrate } from '../adapters/persistence/mikro-orm/orm.ts';
import type { Config } from './config.schema.ts';
import { ConfigError, loadConfig, redact, secretOption } from './config.ts';
import { type DeadLetterQueue, formatLetter, formatTable, openDeadLetterQueue } from './dlq.ts';
import { ensureKafkaTopics, mysqlTls, openModuleDatabase } from './infrastructure.ts';
import { ROLE_TABLE } from './role-table.ts';
import { createLogger } from '../adapters/logging/winston-logger.ts';
import { startRole } from './roles.ts';
import { secretFileOf, SETTINGS } from './settings.ts';
import { jwtSettings } from './signing-key.ts';

const EXIT_CONFIG = 2;

/** Adds every setting as a flag; values stay strings here and are validated by the one config schema. */
function withSettings(command: Command, except: string[] = []): Command {
  for (const s of SETTINGS.filter((setting) => !except.includes(setting.key))) {
    const flag = s.kind === 'boolean' ? `${s.flag} <true|false>` : `${s.flag} <value>`;
    command.addOption(new Option(flag, `${s.description} [env ${s.env}]`));
    if (s.secret) {
      const file = secretFileOf(s);
      command.addOption(new Option(`${file.flag} <path>`, `${s.flag}, read from this file [env ${file.env}]`));
    }
  }
  return command.option('--config <file>', 'JSON config file [env HEXASHOP_CONFIG]');
}

function configFrom(command: Command): Config {
  const { config: file, ...flags } = command.opts<Record<string, unknown>>();
  return loadConfig({ flags, file: file as string | undefined });
}

const program = new Command('hexashop').description('Hexashop: catalog, stock and orders').showHelpAfterError();

withSettings(program.command('start').description('run a role: monolith | gateway | product | order')).action(
  async (_opts, command: Command) => {
    const config = configFrom(command);
    const logger = createLogger(config.logLevel, config.role);
    const running = await startRole(config, logger);
    const shutdown = async (signal: string) => {
      logger.info('shutting down', { signal, drainTimeoutMs: config.shutdownTimeoutMs });
      // The HTTP drain is bounded by --shutdown-timeout-ms; this bounds the phases after it, should one hang.
      setTimeout(() => {
        logger.error('shutdown took too long; exiting', { code: 'SHUTDOWN_TIMEOUT' });
        process.exit(1);
      }, config.shutdownTimeoutMs + 15_000).unref();
      await running.stop();
      logger.info('stopped', { signal });
      process.exit(0);
    };
    process.once('SIGINT', () => void shutdown('SIGINT'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
  },
);

withSettings(program.command('migrate').description("bring the role's databases to the latest schema")).action(
  async (_opts, command: Command) => {
    const config = configFrom(command);
    const logger = createLogger(config.logLevel, config.role);
    const shape = ROLE_TABLE[config.role];
    for (const module of [...shape.modules, ...(shape.access ? (['access'] as const) : [])]) {
      const orm = await openModuleDatabase(config, module, logger);
      try {
        const applied = await migrate(orm);
        console.log(`${module}: ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}`);
      } finally {
        await orm.close();
      }
    }
  },
);

const ADMIN_URL = { flag: '--admin-url', env: 'HEXASHOP_DB_ADMIN_URL' };
const dbCommand = program.command('db').description('MySQL schemas and users');
withSettings(dbCommand.command('setup'), ['role'])
  .description(
    'create product_db, order_db and access_db and a user for each, granted only its own schema (idempotent)',
  )
  .option('--admin-url <url>', 'a MySQL URL with rights to create schemas and users [env HEXASHOP_DB_ADMIN_URL]')
  .option('--admin-url-file <path>', 'a file holding --admin-url [env HEXASHOP_DB_ADMIN_URL_FILE]')
  .action(async (_opts, command: Command) => {
    const {
      adminUrl: givenUrl = process.env.HEXASHOP_DB_ADMIN_URL,
      adminUrlFile = process.env.HEXASHOP_DB_ADMIN_URL_FILE,
      config: file,
      ...flags
    } = command.opts<{ adminUrl?: string; adminUrlFile?: string; config?: string }>();
    const adminUrl = secretOption(ADMIN_URL, givenUrl, adminUrlFile);
    if (!adminUrl) throw new ConfigError(['invalid setting --admin-url (HEXASHOP_DB_ADMIN_URL): required']);
    const config = loadConfig({ flags, file });
    const logger = createLogger(config.logLevel, 'setup');
    const result = await setupMysql({
      adminUrl,
      productDbUrl: config.productDbUrl,
      orderDbUrl: config.orderDbUrl,
      accessDbUrl: config.accessDbUrl,
      tls: mysqlTls(config),
      logger,
    });
    console.log(`ready: schemas ${result.schemas.join(', ')}; users ${result.users.join(', ')}`);
  });

const kafkaCommand = program.command('kafka').description('Kafka topics');
withSettings(kafkaCommand.command('topics'), ['role'])
  .description('create or verify product-events and order-events (6 partitions each) and their .dlq topics')
  .action(async (_opts, command: Command) => {
    const config = configFrom(command);
    const report = await ensureKafkaTopics(config, createLogger(config.logLevel, 'setup'));
    if (report.created.length > 0) console.log(`created: ${report.created.join(', ')}`);
    if (report.verified.length > 0) console.log(`verified: ${report.verified.join(', ')}`);
    for (const error of report.errors) console.error(error);
    if (report.errors.length > 0) process.exitCode = 1;
  });

const dlqCommand = program
  .command('dlq')
  .description(
    "dead letters of the configured bus: the owning module's dead_letters table in process, <topic>.dlq on Kafka",
  );
const STATES = ['parked', 'replayed', 'discarded'] as const;
const parseLimit = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};
interface DlqOptions {
  topic?: string;
  group?: string;
  state?: (typeof STATES)[number];
  limit?: number;
  all?: boolean;
  json?: boolean;
  config?: string;
}

/** Opens the configured role's dead letters, runs `work`, closes them; the command's own options are not settings. */
async function withDlq(command: Command, work: (dlq: DeadLetterQueue, opts: DlqOptions) => Promise<void>) {
  const { topic, group, state, limit, all, json, config: file, ...flags } = command.opts<DlqOptions>();
  const config = loadConfig({ flags, file });
  const dlq = await openDeadLetterQueue(config, createLogger(config.logLevel, 'dlq'));
  try {
    await work(dlq, { topic, group, state, limit, all, json });
  } finally {
    await dlq.close();
  }
}
const filterOptions = (command: Command) =>
  command
    .option('--topic <topic>', 'only letters of this topic (product-events | order-events)')
    .option('--group <group>', 'only letters this consumer group parked');
const print = (json: boolean | undefined, value: unknown, text: string) =>
  console.log(json ? JSON.stringify(value, null, 2) : text);

filterOptions(withSettings(dlqCommand.command('list').description('list dead letters, oldest first')))
  .addOption(new Option('--state <state>', 'only letters in this state').choices(STATES))
  .option('--limit <n>', 'at most n letters', parseLimit)
  .option('--json', 'print JSON')
  .action((_opts, command: Command) =>
    withDlq(command, async (dlq, { topic, group, state, limit, json }) => {
      const letters = await dlq.list({ topic, group, state, limit });
      print(json, letters, formatTable(letters));
    }),
  );

withSettings(dlqCommand.command('show').description('one dead letter: why it was parked, and its event'))
  .argument('<id>', 'the letter id, as `dlq list` shows it')
  .option('--json', 'print JSON')
  .action((id: string, _opts, command: Command) =>
    withDlq(command, async (dlq, { json }) => {
      const letter = await dlq.get(id);
      if (!letter) throw new Error(`no dead letter ${id}`);
      print(json, letter, formatLetter(letter));
    }),
  );

filterOptions(
  withSettings(
    dlqCommand
      .command('replay')
      .description(
        'hand parked letters back to their consumer group (idempotent consumers: a handled event changes nothing), ' +
          'and mark them replayed; a letter already replayed or discarded is left alone',
      ),
  ),
)
  .argument('[id]', 'the letter id')
  .option('--all', 'every parked letter (narrowed by --topic / --group)')
  .option('--json', 'print JSON')
  .action((id: string | undefined, _opts, command: Command) =>
    withDlq(command, async (dlq, { topic, group, all, json }) => {
      if ((id === undefined) === !all) throw new InvalidArgumentError('give a letter id or --all');
      const ids = id !== undefined ? [id] : (await dlq.list({ topic, group, state: 'parked' })).map((l) => l.id);
      const results = [];
      for (const each of ids) results.push({ id: each, outcome: await dlq.replay(each) });
      print(
        json,
        results,
        results.length === 0 ? 'nothing to replay' : results.map((r) => `${r.id} ${r.outcome}`).join('\n'),
      );
      if (results.some((r) => r.outcome === 'not-found')) process.exitCode = 1;
    }),
  );

withSettings(
  dlqCommand.command('discard').description('mark a parked letter discarded (kept for audit, never replayed)'),
)
  .argument('<id>', 'the letter id')
  .option('--json', 'print JSON')
  .action((id: string, _opts, command: Command) =>
    withDlq(command, async (dlq, { json }) => {
      const outcome = await dlq.discard(id);
      print(json, { id, outcome }, `${id} ${outcome}`);
      if (outcome === 'not-found') process.exitCode = 1;
    }),
  );

const parseTtl = (value: string): number => {
  const match = /^(\d+)(s|m|h|d)?$/.exec(value);
  if (!match) throw new InvalidArgumentError('use a number of seconds or e.g. 30m, 1h, 7d');
  const seconds = Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  if (seconds < 1 || seconds > 30 * 86400) throw new InvalidArgumentError('must be between 1s and 30d');
  return seconds;
};

// `--role` here is the token's role; the process role does not matter for signing.
withSettings(program.command('token').description('print a signed JWT valid for the configured key'), ['role'])
  .requiredOption('--sub <id>', 'subject: the user id (becomes the customerId of their orders)')
  .addOption(new Option('--role <role>', 'admin | customer').choices(['admin', 'customer']).makeOptionMandatory())
  .addOption(new Option('--ttl <duration>', 'lifetime, e.g. 3600, 30m, 1h').default(3600, '1h').argParser(parseTtl))
  .action((_opts, command: Command) => {
    const {
      sub,
      role,
      ttl,
      config: file,
      ...flags
    } = command.opts<{ sub: string; role: 'admin' | 'customer'; ttl: number; config?: string }>();
    const config = loadConfig({ flags, file });
    const settings = jwtSettings(config);
    if (!settings.signer && settings.secret === undefined) {
      throw new ConfigError([
        'invalid setting --jwt-private-key-file: public keys are configured, signing needs the private key',
      ]);
    }
    // The issuer's private key when configured (asymmetric mode), else the HS256 secret.
    console.log(signToken(settings, { id: sub, role }, ttl));
  });

const keysCommand = program.command('keys').description('asymmetric JWT signing keys');
keysCommand
  .command('generate')
  .description('write a new private key (private.pem, mode 0600) and its public JWKS (jwks.json) to a directory')
  .addOption(new Option('--alg <alg>', 'ES256 | RS256').choices(ALGORITHMS).default('ES256'))
  .requiredOption('--out <dir>', 'directory to write to (created; existing files are not overwritten)')
  .action((opts: { alg: AsymmetricAlgorithm; out: string }) => {
    const { privatePem, jwks } = generateSigningKey(opts.alg);
    mkdirSync(opts.out, { recursive: true, mode: 0o700 });
    writeFileSync(join(opts.out, 'private.pem'), privatePem, { mode: 0o600, flag: 'wx' });
    writeFileSync(join(opts.out, 'jwks.json'), `${JSON.stringify(jwks, null, 2)}\n`, { flag: 'wx' });
    console.log(
      `${opts.alg} key ${String(jwks.keys[0]!.kid)}: ${join(opts.out, 'private.pem')}, ${join(opts.out, 'jwks.json')}`,
    );
  });

const configCommand = program.command('config').description('inspect the configuration');
withSettings(configCommand.command('print').description('print the effective configuration, secrets redacted')).action(
  (_opts, command: Command) => {
    console.log(JSON.stringify(redact(configFrom(command)), null, 2));
  },
);
withSettings(configCommand.command('validate').description('exit 0 if the configuration is valid, 2 if not')).action(
  (_opts, command: Command) => {
    configFrom(command);
    console.log('configuration is valid');
  },
);

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof ConfigError) {
    for (const problem of error.problems) console.error(problem);
    process.exit(EXIT_CONFIG);
  }
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
