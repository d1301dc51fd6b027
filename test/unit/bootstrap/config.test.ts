import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig, redact } from '../../../src/bootstrap/config.ts';
import { secretFiles, SETTINGS } from '../../../src/bootstrap/settings.ts';

const JWT_SECRET = 'unit-jwt-secret-from-a-file-0123456789abcdef';

/** The problems a ConfigError reports, or a failure when loading succeeds. */
function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  expect.fail('expected a ConfigError');
}

describe('config: secrets read from files (Docker/Kubernetes secrets)', () => {
  let dir: string;
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'hexashop-config-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives every secret setting, and only those, a file variant that collides with no setting', () => {
    const secrets = SETTINGS.filter((s) => s.secret).map((s) => s.key);
    expect(secrets).to.include.members(['jwtSecret', 'productDbUrl', 'orderDbUrl', 'redisUrl', 'apiKeys']);
    expect(secretFiles().map((f) => f.of.key)).to.deep.equal(secrets);
    const jwt = secretFiles().find((f) => f.of.key === 'jwtSecret');
    expect(jwt).to.include({ key: 'jwtSecretFile', flag: '--jwt-secret-file', env: 'HEXASHOP_JWT_SECRET_FILE' });
    for (const name of ['key', 'flag', 'env'] as const) {
      const all = [...SETTINGS.map((s) => s[name]), ...secretFiles().map((f) => f[name])];
      expect(new Set(all).size, `${name}s are unique`).to.equal(all.length);
    }
  });

  it('reads a secret from the file named by the environment, a flag or the config file, minus one trailing newline', () => {
    const path = file('jwt', `${JWT_SECRET}\n`);
    expect(loadConfig({ env: { HEXASHOP_JWT_SECRET_FILE: path } }).jwtSecret).to.equal(JWT_SECRET);
    expect(loadConfig({ env: {}, flags: { jwtSecretFile: path } }).jwtSecret).to.equal(JWT_SECRET);
    const json = file('config.json', JSON.stringify({ jwtSecretFile: path }));
    expect(loadConfig({ env: {}, file: json }).jwtSecret).to.equal(JWT_SECRET);
    expect(loadConfig({ env: { HEXASHOP_JWT_SECRET_FILE: file('crlf', `${JWT_SECRET}\r\n`) } }).jwtSecret).to.equal(
      JWT_SECRET,
    );
    // Only one newline is the file's ending; what comes before it is the secret.
    expect(loadConfig({ env: { HEXASHOP_JWT_SECRET_FILE: file('two', `${JWT_SECRET} \n\n`) } }).jwtSecret).to.equal(
      `${JWT_SECRET} \n`,
    );
  });

  it('validates a value read from a file like any other, and redacts it in config print', () => {
    const url = 'mysql://shop:file-password-9f3k@db.internal:3306/product_db';
    const config = loadConfig({ env: { HEXASHOP_PRODUCT_DB_URL_FILE: file('url', `${url}\n`) } });
    expect(config.productDbUrl).to.equal(url);
    expect(JSON.stringify(redact(config))).to.not.include('file-password-9f3k');
    const bad = 'ci:admin:too-short-key-7h2q';
    const problems = problemsOf(() => loadConfig({ env: { HEXASHOP_API_KEYS_FILE: file('keys', bad) } }));
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/^invalid setting --api-keys \(HEXASHOP_API_KEYS\): entry 1 must be/);
    expect(problems[0]).to.not.include('7h2q');
  });

  it('replaces the default: a file variant overrides config/default.json without conflict', () => {
    const url = 'mysql://shop:pw-from-file@db.internal:3306/order_db';
    expect(loadConfig({ env: { HEXASHOP_ORDER_DB_URL_FILE: file('url', url) } }).orderDbUrl).to.equal(url);
  });

  it('refuses a secret and its file together, in one layer or across layers, naming both', () => {
    const path = file('jwt', JWT_SECRET);
    const json = file('config.json', JSON.stringify({ jwtSecret: JWT_SECRET }));
    expect(
      problemsOf(() => loadConfig({ env: { HEXASHOP_JWT_SECRET: JWT_SECRET, HEXASHOP_JWT_SECRET_FILE: path } })),
    ).to.deep.equal([
      'invalid setting --jwt-secret (HEXASHOP_JWT_SECRET): set both HEXASHOP_JWT_SECRET and HEXASHOP_JWT_SECRET_FILE: choose one',
    ]);
    expect(
      problemsOf(() => loadConfig({ env: { HEXASHOP_JWT_SECRET: JWT_SECRET }, flags: { jwtSecretFile: path } })),
    ).to.deep.equal([
      'invalid setting --jwt-secret (HEXASHOP_JWT_SECRET): set both HEXASHOP_JWT_SECRET and --jwt-secret-file: choose one',
    ]);
    expect(problemsOf(() => loadConfig({ env: { HEXASHOP_JWT_SECRET_FILE: path }, file: json }))).to.deep.equal([
      `invalid setting --jwt-secret (HEXASHOP_JWT_SECRET): set both "jwtSecret" in ${json} and HEXASHOP_JWT_SECRET_FILE: choose one`,
    ]);
    expect(problemsOf(() => loadConfig({ env: {}, flags: { redisUrl: 'redis://r:6379', redisUrlFile: path } })))
      .to.have.length(1)
      .and.to.match(/--redis-url.*--redis-url-file: choose one/);
  });

  it('names the setting and the path of a missing or empty file, never what a file holds', () => {
    const empty = file('empty', '\n');
    const missing = join(dir, 'missing');
    const problems = problemsOf(() =>
      loadConfig({ env: { HEXASHOP_JWT_SECRET_FILE: empty }, flags: { redisUrlFile: missing } }),
    );
    expect(problems).to.have.members([
      `invalid setting --redis-url-file (HEXASHOP_REDIS_URL_FILE): cannot read ${missing} (ENOENT)`,
      `invalid setting --jwt-secret-file (HEXASHOP_JWT_SECRET_FILE): ${empty} is empty`,
    ]);
    const short = file('short', 'short-secret-xyz');
    const [tooShort] = problemsOf(() => loadConfig({ env: { HEXASHOP_JWT_SECRET_FILE: short } }));
    expect(tooShort).to.match(/^invalid setting --jwt-secret \(HEXASHOP_JWT_SECRET\): /);
    expect(tooShort).to.not.include('short-secret-xyz');
  });

  it('never quotes a config file that is not valid JSON: it may hold secrets', () => {
    const json = file('config.json', `{"jwtSecret": ${JWT_SECRET}}`);
    const [problem] = problemsOf(() => loadConfig({ env: {}, file: json }));
    expect(problem).to.match(/^invalid setting --config \(HEXASHOP_CONFIG\): cannot read .*: not valid JSON/);
    expect(problem).to.not.include(JWT_SECRET.slice(0, 10));
  });
});
