import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { expect } from 'chai';
import { parse } from 'yaml';

/**
 * .github/workflows, held offline to SchemaStore's GitHub workflow schema (vendored in
 * test/fixtures/github-workflow/, see its README) and to what the project runs locally: the README's test
 * command, the same service versions as scripts/services.sh, Node from .nvmrc.
 */
const WORKFLOWS_DIR = '.github/workflows';
const workflowFiles = readdirSync(WORKFLOWS_DIR).filter((f) => /\.ya?ml$/.test(f));
const workflows = new Map(
  workflowFiles.map((f) => [f, parse(readFileSync(join(WORKFLOWS_DIR, f), 'utf8')) as Record<string, any>]),
);
const workflow = (file: string) => {
  const w = workflows.get(file);
  if (!w) throw new Error(`no ${WORKFLOWS_DIR}/${file}`);
  return w;
};
const steps = (job: Record<string, any>): Record<string, any>[] => job.steps ?? [];
const runs = (job: Record<string, any>) => steps(job).flatMap((s) => (typeof s.run === 'string' ? [s.run] : []));
const uses = (job: Record<string, any>) => steps(job).flatMap((s) => (typeof s.uses === 'string' ? [s.uses] : []));

function workflowValidator(): ValidateFunction {
  const schema = JSON.parse(readFileSync('test/fixtures/github-workflow/github-workflow.json', 'utf8')) as object;
  // Ajv's strict mode is about schema style (untyped keywords, union types), which this schema does not follow;
  // the strictness about the data is the schema's own (additionalProperties: false on workflows, jobs, steps).
  return new Ajv({ strict: false, allErrors: true }).compile(schema);
}

describe('.github/workflows', () => {
  const validate = workflowValidator();
  const problems = (document: unknown) => {
    const valid = validate(document);
    return valid ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
  };

  it('has the CI and deploy workflows', () => {
    expect(workflowFiles).to.include.members(['ci.yml', 'deploy.yml']);
  });

  for (const file of workflowFiles) {
    it(`${file} is valid against the GitHub workflow schema`, () => {
      expect(problems(workflow(file))).to.deep.equal([]);
    });
  }

  it('refuses an invalid workflow (the validation can fail)', () => {
    const ci = structuredClone(workflow('ci.yml'));
    expect(problems(ci)).to.deep.equal([]);
    ci.jobs.test['runs-onn'] = ci.jobs.test['runs-on'];
    delete ci.jobs.test['runs-on'];
    expect(problems(ci)).to.not.deep.equal([]);
    const misspelledFilter = structuredClone(workflow('ci.yml'));
    misspelledFilter.on = { push: { branch: ['main'] } };
    expect(problems(misspelledFilter)).to.not.deep.equal([]);
  });

  describe('ci.yml', () => {
    const ci = workflow('ci.yml');
    const test = ci.jobs.test;

    it("runs the README's test command, with Node from .nvmrc", () => {
      const readme = readFileSync('README.md', 'utf8');
      expect(readme).to.match(/^npm test\b/m);
      expect(runs(test)).to.include('npm test');
      expect(readFileSync('.ci/run', 'utf8')).to.match(/^npm test$/m);
      const setupNode = steps(test).find((s) => String(s.uses).startsWith('actions/setup-node@'));
      expect(setupNode?.with?.['node-version-file']).to.equal('.nvmrc');
      expect(runs(test).some((r) => r.startsWith('npm ci'))).to.equal(true);
    });

    it('gives the suites MariaDB, Redis and Kafka as service containers, at the versions scripts/services.sh runs', () => {
      const services = test.services as Record<string, { image: string; env?: Record<string, unknown> }>;
      const image = (name: string) => services[name]!.image;
      // Kafka: the version the local script fetches (scripts/kafka/pom.xml).
      const pom = readFileSync('scripts/kafka/pom.xml', 'utf8');
      const kafka = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
      expect(image('kafka')).to.equal(`apache/kafka:${kafka}`);
      expect(services.kafka!.env?.KAFKA_AUTO_CREATE_TOPICS_ENABLE).to.equal('false');
      // MariaDB and Redis: the local script uses Debian 12's packages (MariaDB 10.11, Redis 7.0).
      expect(image('mariadb')).to.match(/^mariadb:10\.11\b/);
      expect(image('redis')).to.match(/^redis:7\b/);
      expect(readFileSync('scripts/services.sh', 'utf8')).to.include('mariadbd').and.include('redis-server');
      // test/support/services.ts reads these, and prefers testcontainers unless told otherwise.
      const env = test.env as Record<string, string>;
      const support = readFileSync('test/support/services.ts', 'utf8');
      for (const name of ['HEXASHOP_TEST_MYSQL_ADMIN_URL', 'HEXASHOP_TEST_KAFKA_BROKERS', 'HEXASHOP_TEST_REDIS_URL']) {
        expect(support).to.include(name);
        expect(env[name], name).to.be.a('string').and.not.equal('');
      }
      expect(support).to.include("HEXASHOP_TEST_NO_DOCKER === 'true'");
      expect(env.HEXASHOP_TEST_NO_DOCKER).to.equal('true');
      expect(env.HEXASHOP_TEST_MYSQL_ADMIN_URL).to.match(/@mariadb:3306\//);
      expect(env.HEXASHOP_TEST_KAFKA_BROKERS).to.equal('kafka:9092');
      expect(env.HEXASHOP_TEST_REDIS_URL).to.equal('redis://redis:6379');
      expect(services.kafka!.env?.KAFKA_ADVERTISED_LISTENERS).to.equal('PLAINTEXT://kafka:9092');
    });

    it('builds the image, scans it, and pushes it to GHCR on main only', () => {
      const image = ci.jobs.image;
      expect(image.needs).to.equal('test');
      expect(uses(image).some((u) => u.startsWith('docker/build-push-action@'))).to.equal(true);
      const scan = steps(image).find((s) => String(s.uses).startsWith('aquasecurity/trivy-action@'));
      expect(scan?.with?.['exit-code']).to.equal('1');
      const push = steps(image).find((s) => s.with?.push === true);
      expect(push?.if).to.include("github.ref == 'refs/heads/main'");
      const login = steps(image).find((s) => String(s.uses).startsWith('docker/login-action@'));
      expect(login?.with?.registry).to.equal('ghcr.io');
      expect(image.permissions.packages).to.equal('write');
    });
  });

  describe('deploy.yml', () => {
    const deploy = workflow('deploy.yml');

    it('deploys blue-green behind manual approvals (environments), and can roll back', () => {
      expect(deploy.env.OVERLAY).to.equal('deploy/k8s/overlays/blue-green');
      expect(deploy.jobs['deploy-idle'].environment).to.equal('production');
      expect(deploy.jobs.switch.environment).to.equal('production-switch');
      expect(deploy.jobs.switch.needs).to.equal('deploy-idle');
      const rollbackStep = steps(deploy.jobs.switch).find((s) => s.if === 'failure()');
      expect(rollbackStep?.run).to.include('patch service gateway');
      expect(deploy.jobs.rollback.if).to.include("inputs.action == 'rollback'");
      expect(runs(deploy.jobs.rollback).join('\n')).to.include('patch service gateway');
      // The names it patches and waits for are the overlay's.
      const overlay = readFileSync('deploy/k8s/overlays/blue-green/services.yaml', 'utf8');
      expect(overlay).to.include('name: gateway\n').and.include('name: gateway-preview\n');
      expect(runs(deploy.jobs['deploy-idle']).join('\n')).to.include('job/hexashop-setup');
      // The overlay's Secrets are placeholders: a release must never overwrite the real ones.
      expect(runs(deploy.jobs['deploy-idle']).join('\n')).to.include('select(.kind != "Secret")');
    });
  });
});
