import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Config, ConfigSchema } from './config.schema.ts';
import { isSecretKey, SETTINGS } from './settings.ts';

const DEFAULTS_FILE = fileURLToPath(new URL('../../config/default.json', import.meta.url));

/** A configuration problem: the CLI prints one line per problem and exits with status 2. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface ConfigSources {
  /** Values from command-line flags, keyed by setting key; undefined means not given. */
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file (`--config FILE`). */
  file?: string | undefined;
}

/** Precedence: flag > environment (HEXASHOP_…) > config file > config/default.json. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const layers: Record<string, unknown>[] = [readJson(DEFAULTS_FILE)];
  const file = sources.file ?? env.HEXASHOP_CONFIG;
  if (file) layers.push(readJson(file));
  layers.push(fromEnv(env), defined(sources.flags ?? {}));
  return validate(Object.assign({}, ...layers));
}

export function validate(raw: Record<string, unknown>): Config {
  const parsed = ConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const spec = SETTINGS.find((s) => s.key === key);
      const name = spec ? `${spec.flag} (${spec.env})` : key || 'config';
      // The message names the setting, never its value: it may be a secret.
      return `invalid setting ${name}: ${issue.code === 'unrecognized_keys' ? issue.message : issue.message}`;
    }),
  );
}

/** The configuration as `config print` shows it: secrets, and passwords inside URLs, replaced. */
export function redact(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [
      key,
      isSecretKey(key) && value !== undefined ? redactValue(value) : value,
    ]),
  );
}

function redactValue(value: unknown): string {
  if (typeof value === 'string' && /^[a-z]+:\/\//.test(value)) {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  }
  return '***';
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  return Object.fromEntries(SETTINGS.flatMap((s) => (env[s.env] === undefined ? [] : [[s.key, env[s.env]]])));
}

function defined(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}

function readJson(path: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError([
      `invalid setting --config (HEXASHOP_CONFIG): cannot read ${path}: ${(error as Error).message}`,
    ]);
  }
}
