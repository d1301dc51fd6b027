import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import {
  allExpressions,
  allRules,
  dashboardFiles,
  OBSERVABILITY_DIR,
  parseErrors,
  ruleFiles,
  ruleTestFiles,
} from '../support/observability.ts';

/** promtool from Debian's prometheus package (.ci/run installs it when missing). */
function promtool(...args: string[]): string {
  try {
    return execFileSync('promtool', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('promtool is missing: apt-get install -y prometheus');
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

const ALERTS = [
  'ServiceDown',
  'High5xxRatio',
  'HighP99Latency',
  'OutboxBacklogOld',
  'ConsumerLagHigh',
  'DeadLettersGrowing',
  'BreakerOpen',
  'RedisDegraded',
];

describe('deploy/observability', () => {
  describe('promtool', () => {
    it('accepts prometheus.yml (and the rule files it names)', () => {
      const out = promtool('check', 'config', join(OBSERVABILITY_DIR, 'prometheus.yml'));
      expect(out).to.include('SUCCESS');
      for (const file of ruleFiles()) expect(out).to.include(file.slice(OBSERVABILITY_DIR.length + 1));
    });

    it('accepts every rule file, lint included', () => {
      expect(ruleFiles()).to.have.length.greaterThan(0);
      promtool('check', 'rules', ...ruleFiles());
    });

    it('passes the rule unit tests', () => {
      expect(ruleTestFiles()).to.have.length.greaterThan(0);
      promtool('test', 'rules', ...ruleTestFiles());
    });
  });

  describe('alerts', () => {
    const alerts = allRules().filter((rule) => rule.alert);

    it('are the ones operators are promised', () => {
      expect(alerts.map((rule) => rule.alert)).to.have.members(ALERTS);
    });

    it('each wait a while, say how bad they are, and explain themselves', () => {
      for (const rule of alerts) {
        expect(rule.for, rule.alert).to.match(/^\d+[smh]$/);
        expect(rule.labels?.severity, rule.alert).to.be.oneOf(['critical', 'warning']);
        expect(rule.annotations?.summary, rule.alert).to.be.a('string').and.not.empty;
        expect(rule.annotations?.description, rule.alert).to.be.a('string').and.not.empty;
      }
    });

    it('each have a unit test where they fire and one where they stay quiet', () => {
      type Case = { alertname: string; exp_alerts?: unknown[] };
      const cases = ruleTestFiles().flatMap((file) => {
        const doc = parse(readFileSync(file, 'utf8')) as { tests: { alert_rule_test?: Case[] }[] };
        return doc.tests.flatMap((test) => test.alert_rule_test ?? []);
      });
      for (const alert of ALERTS) {
        const mine = cases.filter((c) => c.alertname === alert);
        expect(
          mine.some((c) => (c.exp_alerts ?? []).length > 0),
          `${alert} fires somewhere`,
        ).to.equal(true);
        expect(
          mine.some((c) => (c.exp_alerts ?? []).length === 0),
          `${alert} stays quiet somewhere`,
        ).to.equal(true);
      }
    });
  });

  describe('PromQL', () => {
    it('every expression in the rules and dashboards parses', () => {
      const expressions = allExpressions();
      expect(expressions.length).to.be.greaterThan(40);
      const broken = expressions
        .map(({ where, expr }) => ({ where, expr, errors: parseErrors(expr) }))
        .filter(({ errors }) => errors.length > 0);
      expect(broken, JSON.stringify(broken, null, 2)).to.deep.equal([]);
    });

    it('the parser does find errors (so the test above can fail)', () => {
      expect(parseErrors('sum by (role) (rate(http_requests_total[5m])')).to.not.be.empty;
      expect(parseErrors('up ==')).to.not.be.empty;
      expect(parseErrors('up == 0')).to.deep.equal([]);
    });
  });

  describe('Grafana dashboards', () => {
    it('are provisionable: a unique uid and title each, every panel on the provisioned datasource', () => {
      const files = dashboardFiles();
      expect(files).to.have.length.greaterThanOrEqual(5);
      const dashboards = files.map((file) => JSON.parse(readFileSync(file, 'utf8')));
      expect(new Set(dashboards.map((d) => d.uid)).size).to.equal(files.length);
      expect(new Set(dashboards.map((d) => d.title)).size).to.equal(files.length);
      const datasource = parse(
        readFileSync(join(OBSERVABILITY_DIR, 'provisioning/datasources/prometheus.yml'), 'utf8'),
      ) as { datasources: { uid: string }[] };
      const uid = datasource.datasources[0]!.uid;
      for (const dashboard of dashboards) {
        for (const panel of dashboard.panels.filter((p: { type: string }) => p.type !== 'row')) {
          expect(panel.datasource?.uid, `${dashboard.uid}: ${panel.title}`).to.equal(uid);
          expect(panel.targets, `${dashboard.uid}: ${panel.title}`).to.not.be.empty;
        }
      }
    });
  });
});
