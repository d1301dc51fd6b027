import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Config, ConfigSchema } from './config.schema.ts';
import { isSecretKey, type SecretFileSpec, secretFiles, SETTINGS } from './settings.ts';

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

/** Where one layer's values came from, to name a setting as the operator gave it. */
interface Layer {
  values: Record<string, unknown>;
  where(spec: { key: string; flag: string; env: string }): string;
}

/**
 * Precedence: flag > environment (HEXASHOP_…) > config file > config/default.json. A secret may instead be
 * given as a file (`--jwt-secret-file`, `HEXASHOP_JWT_SECRET_FILE`, `jwtSecretFile`), never both.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const file = sources.file ?? env.HEXASHOP_CONFIG;
  const given: Layer[] = [
    ...(file ? [{ values: readJson(file), where: (s: { key: string }) => `"${s.key}" in ${file}` }] : []),
    { values: fromEnv(env), where: (s) => s.env },
    { values: defined(sources.flags ?? {}), where: (s) => s.flag },
  ];
  const conflicts = secretFiles().flatMap((spec) => conflict(spec, given));
  if (conflicts.length > 0) throw new ConfigError(conflicts);
  return validate(withSecretFiles(Object.assign({}, readJson(DEFAULTS_FILE), ...given.map((l) => l.values))));
}

/** A secret and its file given together, in one layer or across layers, is a mistake: which one was meant? */
function conflict(spec: SecretFileSpec, layers: Layer[]): string[] {
  const value = layers.findLast((l) => l.values[spec.of.key] !== undefined);
  const file = layers.findLast((l) => l.values[spec.key] !== undefined);
  if (!value || !file) return [];
  return [`invalid setting ${nameOf(spec.of)}: set both ${value.where(spec.of)} and ${file.where(spec)}: choose one`];
}

/** Replaces each `<key>File` by the content of the file it names. Problems name the setting and path, never content. */
function withSecretFiles(raw: Record<string, unknown>): Record<string, unknown> {
  const resolved = { ...raw };
  const problems: string[] = [];
  for (const spec of secretFiles()) {
    const path = resolved[spec.key];
    if (path === undefined) continue;
    delete resolved[spec.key];
    const read = readSecretFile(path);
    if (typeof read === 'string') resolved[spec.of.key] = read;
    else problems.push(`invalid setting ${nameOf(spec)}: ${read.problem}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return resolved;
}

function readSecretFile(path: unknown): string | { problem: string } {
  if (typeof path !== 'string' || path === '') return { problem: 'must be a file path' };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { problem: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})` };
  }
  // Editors and `echo` end a file with a newline; the secret itself is what comes before it.
  const value = text.replace(/\r?\n$/, '');
  return value === '' ? { problem: `${path} is empty` } : value;
}

const nameOf = (spec: { flag: string; env: string }) => `${spec.flag} (${spec.env})`;

/**
 * A secret a command takes outside the settings (e.g. `db setup`'s admin URL), by the same rules: the value
 * or a file holding it, never both; problems name the option and the path, never the content.
 */
export function secretOption(
  name: { flag: string; env: string },
  value: string | undefined,
  file: string | undefined,
): string | undefined {
  if (value !== undefined && file !== undefined) {
    throw new ConfigError([`invalid setting ${nameOf(name)}: set both it and ${name.flag}-file: choose one`]);
  }
  if (file === undefined) return value;
  const read = readSecretFile(file);
  if (typeof read === 'string') return read;
  throw new ConfigError([`invalid setting ${name.flag}-file (${name.env}_FILE): ${read.problem}`]);
}

export function validate(raw: Record<string, unknown>): Config {
  const parsed = ConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const spec = SETTINGS.find((s) => s.key === key);
      const name = spec ? nameOf(spec) : key || 'config';
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
  const specs = [...SETTINGS, ...secretFiles()];
  return Object.fromEntries(specs.flatMap((s) => (env[s.env] === undefined ? [] : [[s.key, env[s.env]]])));
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
    throw new ConfigError([`invalid setting --config (HEXASHOP_CONFIG): cannot read ${path}: ${whyUnreadable(error)}`]);
  }
}

/** V8 quotes the text around a JSON syntax error, and a config file may hold secrets: keep only where it is. */
function whyUnreadable(error: unknown): string {
  if (error instanceof SyntaxError) {
    const at = /at position \d+(?: \(line \d+ column \d+\))?/.exec(error.message);
    return `not valid JSON${at ? ` (${at[0]})` : ''}`;
  }
  return (error as Error).message; // fs errors name the path and the reason only
}
