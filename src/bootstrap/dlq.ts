/**
 * `hexashop dlq`: the dead letters of the configured bus, one shape for both. In process, they are the
 * `dead_letters` tables of the role's module databases, and a replay runs the group's handler in this
 * process (the role composed without HTTP or relays, beside the running one on the same data) with the
 * bus's retries and parking; on Kafka, they are the `<topic>.dlq` topics (see kafka-dead-letters.ts).
 */
import type {
  DeadLetterFilter,
  DeadLetterState,
  StoredDeadLetter,
} from '../adapters/messaging/in-process/dead-letter-store.ts';
import type { RoutedDeadLetterStore } from '../adapters/messaging/in-process/routed-dead-letter-store.ts';
import { type KafkaDeadLetter, KafkaDeadLetters } from '../adapters/messaging/kafka/kafka-dead-letters.ts';
import type { Logger } from '../shared/logger.port.ts';
import type { EventEnvelope } from '../shared/messaging/event-envelope.ts';
import type { Config } from './config.schema.ts';
import { isSecretKey } from './settings.ts';
import { startRole } from './roles.ts';
import { BootTokens } from './wiring/boot-tokens.ts';

/** One dead letter as `dlq` shows it: topic and group by their contract names (no namespace). */
export interface LetterView {
  id: string;
  topic: string;
  group: string;
  eventType: string;
  eventId: string;
  attempts: number;
  code: string;
  error: string;
  parkedAt: string;
  state: DeadLetterState;
  settledAt: string | null;
  /** The event as published (an unreadable message: its text). */
  envelope: unknown;
}

export type ReplayOutcome = 'replayed' | 'parked-again' | 'already-settled' | 'not-found';
export type DiscardOutcome = 'discarded' | 'already-settled' | 'not-found';

export interface DeadLetterQueue {
  list(filter?: DeadLetterFilter): Promise<LetterView[]>;
  get(id: string): Promise<LetterView | undefined>;
  replay(id: string): Promise<ReplayOutcome>;
  discard(id: string): Promise<DiscardOutcome>;
  close(): Promise<void>;
}

export async function openDeadLetterQueue(config: Config, logger: Logger): Promise<DeadLetterQueue> {
  const hide = secretHider(config);
  const strip = (name: string) =>
    config.kafkaNamespace && name.startsWith(config.kafkaNamespace) ? name.slice(config.kafkaNamespace.length) : name;
  return config.bus === 'kafka' ? kafkaQueue(config, logger, strip, hide) : inProcessQueue(config, logger, strip, hide);
}

type Names = (name: string) => string;

async function inProcessQueue(config: Config, logger: Logger, strip: Names, hide: Names): Promise<DeadLetterQueue> {
  const running = await startRole(config, logger, { serve: false });
  const store = await running.container.getAsync<RoutedDeadLetterStore>(BootTokens.DeadLetters, { optional: true });
  if (!store?.attached) {
    await running.stop();
    throw new Error(`role ${config.role} consumes no events: it has no dead letters`);
  }
  const bus = running.bus as unknown as {
    redeliver(letter: { topic: string; group: string; event: EventEnvelope }): Promise<'handled' | 'parked'>;
  };
  const view = (l: StoredDeadLetter): LetterView => ({
    id: l.id,
    topic: strip(l.topic),
    group: strip(l.group),
    eventType: l.event.type,
    eventId: l.event.id,
    attempts: l.attempts,
    code: l.code ?? 'EVENT_HANDLER_FAILED',
    error: hide(l.error),
    parkedAt: l.parkedAt,
    state: l.state,
    settledAt: l.settledAt,
    envelope: l.event,
  });
  const named = (filter: DeadLetterFilter): DeadLetterFilter => ({
    ...filter,
    ...(filter.topic === undefined ? {} : { topic: config.kafkaNamespace + filter.topic }),
    ...(filter.group === undefined ? {} : { group: config.kafkaNamespace + filter.group }),
  });
  return {
    list: async (filter = {}) => (await store.list(named(filter))).map(view),
    get: async (id) => {
      const letter = await store.get(id);
      return letter && view(letter);
    },
    replay: async (id) => {
      const letter = await store.get(id);
      if (!letter) return 'not-found';
      if (letter.state !== 'parked') return 'already-settled';
      const outcome = await bus.redeliver(letter);
      // Settled after the handler: a crash in between leaves it parked, and a second replay is harmless.
      await store.settle(id, 'replayed', new Date());
      return outcome === 'handled' ? 'replayed' : 'parked-again';
    },
    discard: async (id) => {
      if (await store.settle(id, 'discarded', new Date())) return 'discarded';
      return (await store.get(id)) ? 'already-settled' : 'not-found';
    },
    close: () => running.stop(),
  };
}

async function kafkaQueue(config: Config, logger: Logger, strip: Names, hide: Names): Promise<DeadLetterQueue> {
  const dlq = new KafkaDeadLetters({ brokers: config.kafkaBrokers, namespace: config.kafkaNamespace, logger });
  let cached: KafkaDeadLetter[] | undefined;
  const all = async () => (cached ??= await dlq.read());
  const view = (l: KafkaDeadLetter): LetterView => ({
    id: l.id,
    topic: strip(l.topic),
    group: strip(l.group),
    eventType: l.eventType ?? '',
    eventId: l.eventId ?? '',
    attempts: l.attempts,
    code: l.code ?? 'EVENT_HANDLER_FAILED',
    error: hide(l.error),
    parkedAt: l.parkedAt,
    state: l.state,
    settledAt: l.settledAt,
    envelope: parsed(l.value),
  });
  const find = async (id: string) => (await all()).find((l) => l.id === id);
  /** Replays or discards a parked letter once; a settled one is left as it is. */
  const settle = async <To extends 'replayed' | 'discarded'>(
    id: string,
    to: To,
    act: (letter: KafkaDeadLetter) => Promise<void>,
  ): Promise<To | 'not-found' | 'already-settled'> => {
    const letter = await find(id);
    if (!letter) return 'not-found';
    if (letter.state !== 'parked') return 'already-settled';
    await act(letter);
    letter.state = to;
    return to;
  };
  return {
    list: async ({ topic, group, state, limit } = {}) => {
      const letters = (await all())
        .map(view)
        .filter(
          (l) =>
            (topic === undefined || l.topic === topic) &&
            (group === undefined || l.group === group) &&
            (state === undefined || l.state === state),
        );
      return limit === undefined ? letters : letters.slice(0, limit);
    },
    get: async (id) => {
      const letter = await find(id);
      return letter && view(letter);
    },
    replay: (id) => settle(id, 'replayed', (letter) => dlq.replay(letter)),
    discard: (id) => settle(id, 'discarded', (letter) => dlq.discard(letter)),
    close: async () => {},
  };
}

function parsed(value: Buffer | null): unknown {
  if (value === null) return null;
  const text = value.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Error texts are the handlers' own and should hold no secret, but a driver's message may quote a URL:
 * any configured secret, and the password of any URL, is masked before it is shown.
 */
function secretHider(config: Config): Names {
  const secrets = Object.entries(config)
    .filter(([key, value]) => isSecretKey(key) && typeof value === 'string' && value.length >= 4)
    .map(([, value]) => value as string);
  return (text) => {
    let shown = text.replace(/(\w+:\/\/[^:/@\s]*:)[^@\s]+@/g, '$1***@');
    for (const secret of secrets) shown = shown.split(secret).join('***');
    return shown;
  };
}

const COLUMNS: [string, (l: LetterView) => string][] = [
  ['ID', (l) => l.id],
  ['TOPIC', (l) => l.topic],
  ['GROUP', (l) => l.group],
  ['TYPE', (l) => l.eventType],
  ['EVENT', (l) => l.eventId],
  ['ATTEMPTS', (l) => String(l.attempts)],
  ['CODE', (l) => l.code],
  ['STATE', (l) => l.state],
  ['PARKED AT', (l) => l.parkedAt],
];

/** `dlq list` as a table, one letter a line. */
export function formatTable(letters: LetterView[]): string {
  if (letters.length === 0) return 'no dead letters';
  const rows = [COLUMNS.map(([title]) => title), ...letters.map((l) => COLUMNS.map(([, cell]) => cell(l)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `dlq show`: the reason, then the envelope as published. */
export function formatLetter(l: LetterView): string {
  const lines = [
    `id:        ${l.id}`,
    `topic:     ${l.topic}`,
    `group:     ${l.group}`,
    `event:     ${l.eventType} ${l.eventId}`,
    `state:     ${l.state}${l.settledAt ? ` at ${l.settledAt}` : ''}`,
    `parked at: ${l.parkedAt} after ${l.attempts} attempt(s)`,
    `code:      ${l.code}`,
    `error:     ${l.error}`,
    'envelope:',
    JSON.stringify(l.envelope, null, 2),
  ];
  return lines.join('\n');
}
