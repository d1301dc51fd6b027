import { execFile } from 'node:child_process';
import { expect } from 'chai';
import { accessMigrations } from '../../src/adapters/persistence/mikro-orm/access/access.migrations.ts';
import { orderMigrations } from '../../src/adapters/persistence/mikro-orm/order/order.migrations.ts';
import { productMigrations } from '../../src/adapters/persistence/mikro-orm/product/product.migrations.ts';
import type { MigrationEntry } from '../../src/adapters/persistence/mikro-orm/shared/ddl.ts';
import type { Report } from '../../scripts/blue-green.ts';

/**
 * Blue-green with rollback (docs/blue-green.md): the rehearsal script run as an operator would, blue being
 * a worktree of HEAD (HEXASHOP_BLUE_REF picks another ref) and green this working tree, on the shared MySQL,
 * Kafka and Redis; and the expand/contract rule every migration step keeps so blue survives green's schema.
 */
const BLUE_REF = process.env.HEXASHOP_BLUE_REF ?? 'HEAD';

function rehearse(...extra: string[]): Promise<{ code: number; report: Report; output: string }> {
  const args = ['scripts/blue-green.ts', '--blue-ref', BLUE_REF, '--json', '--watch-seconds', '8', ...extra];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      let report: Report | undefined;
      try {
        report = JSON.parse(last) as Report;
      } catch {
        // no report: the output says why
      }
      if (!report) throw new Error(`the rehearsal gave no report (exit ${code}):\n${stdout}\n${stderr}`);
      resolve({ code, report, output: `${stdout}\n${stderr}` });
    });
  });
}

describe('blue-green release with automatic rollback (scripts/blue-green.ts)', function () {
  this.timeout(360_000);

  it('promotes a good green: no request fails while green migrates, during the switch or after it', async () => {
    const { code, report, output } = await rehearse();
    const why = `${JSON.stringify(report, null, 2)}\n${output.slice(-3000)}`;
    expect(report.decision, why).to.equal('promoted');
    expect(code, why).to.equal(0);
    expect(report.blueOnGreenSchema, "blue's smoke test on green's schema").to.equal(null);
    expect(report.failedWhileGreenMigrated, why).to.equal(0);
    expect(report.failedDuringSwitch, why).to.equal(0);
    expect(report.requests.failed, why).to.equal(0);
    // How long it took is measured (docs/blue-green.md), not asserted: a test asserts what happened.
    expect(report.switchMs, why).to.be.a('number');
  });

  it('rolls a failing green back on its own, and nothing fails once blue serves again', async () => {
    const { code, report, output } = await rehearse('--fail-green');
    const why = `${JSON.stringify(report, null, 2)}\n${output.slice(-3000)}`;
    expect(report.decision, why).to.equal('rolled-back');
    expect(code, why).to.equal(3);
    expect(report.failedDuringSwitch, 'the switch itself drops nothing').to.equal(0);
    expect(report.failedAfterRollback, why).to.equal(0);
    expect(report.rollbackMs, why).to.be.a('number');
  });
});

/**
 * Expand/contract: while blue and green run side by side, blue reads and writes green's schema. So a
 * migration step may only add (tables, nullable columns, columns with a default, indexes) or relax (NOT NULL
 * to NULL) what exists. Dropping or renaming a column or table that exists, adding a NOT NULL column without
 * a default, or tightening a column to NOT NULL is a contract step: its name says so (`NNNN-contract-…`), and
 * it ships one release after the last version that used what it removes. Checked on the MySQL statements, the
 * split roles' storage (the monolith on SQLite is stopped and started, never run beside another version).
 */
const CONTRACT_STEP = /^\d{4}-contract-/;

function breakingChanges(statements: string[], earlierTables: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const raw of statements) {
    const sql = raw.toLowerCase().replace(/\s+/g, ' ').trim();
    const table = /^(?:alter|drop|rename) table (?:if exists )?`?(\w+)`?/.exec(sql)?.[1];
    if (table === undefined || !earlierTables.has(table)) continue;
    const say = (what: string) => problems.push(`${what}: ${raw.replace(/\s+/g, ' ').trim()}`);
    if (/^drop table/.test(sql)) say('drops a table');
    if (/^rename table|\brename (?:to|as|column)\b/.test(sql)) say('renames');
    if (/\bdrop (?:column )?(?!index\b|key\b|foreign\b|primary\b|constraint\b|check\b)`?\w+`?/.test(sql)) {
      say('drops a column');
    }
    if (/\bchange (?:column )?`?\w+`? `?\w+`?/.test(sql)) say('renames or retypes a column (CHANGE)');
    for (const clause of sql.split(/,(?![^()]*\))/)) {
      if (/\badd (?:column )?(?!index\b|key\b|unique\b|constraint\b|primary\b|foreign\b)/.test(clause)) {
        if (/\bnot null\b/.test(clause) && !/\bdefault\b/.test(clause)) say('adds a NOT NULL column without default');
      }
      if (/\bmodify (?:column )?/.test(clause) && /\bnot null\b/.test(clause)) say('tightens a column to NOT NULL');
    }
  }
  return problems;
}

function stepsOf(migrations: MigrationEntry[]): { name: string; statements: string[] }[] {
  return migrations.map(({ name, class: Step }) => {
    const migration = new Step(...([null, null] as never[]));
    void migration.up();
    return { name, statements: migration.getQueries().map(String) };
  });
}

const createdTables = (statements: string[]) =>
  statements.flatMap((s) => /^\s*create table (?:if not exists )?`?(\w+)`?/i.exec(s)?.[1]?.toLowerCase() ?? []);

describe('migrations are expand/contract (blue keeps working on the schema green migrates to)', () => {
  for (const [module, migrations] of [
    ['product', productMigrations('mysql')],
    ['order', orderMigrations('mysql')],
    ['access', accessMigrations('mysql')],
  ] as const) {
    it(`${module}: every step adds or relaxes, unless it is named a contract step`, () => {
      const tables = new Set<string>();
      const problems: string[] = [];
      for (const step of stepsOf(migrations)) {
        if (!CONTRACT_STEP.test(step.name)) {
          problems.push(...breakingChanges(step.statements, tables).map((p) => `${step.name} ${p}`));
        }
        for (const table of createdTables(step.statements)) tables.add(table);
      }
      expect(tables.size, 'the steps were read').to.be.above(0);
      expect(problems).to.deep.equal([]);
    });
  }

  it('the rule catches what would break the running version, and lets additions through', () => {
    const existing = new Set(['orders']);
    const breaking = [
      'alter table orders drop column currency',
      'alter table orders drop currency',
      'alter table orders rename column total_cents to total',
      'alter table orders change total_cents total bigint null',
      'rename table orders to purchases',
      'alter table orders rename to purchases',
      'drop table orders',
      'alter table orders add column channel varchar(16) not null',
      'alter table orders modify currency char(3) not null',
    ];
    for (const sql of breaking) expect(breakingChanges([sql], existing), sql).to.have.length.above(0);
    const additive = [
      'alter table orders add column channel varchar(16) null',
      "alter table orders add column channel varchar(16) not null default 'web'",
      'alter table orders add column price decimal(10,2) null, add index orders_price (price)',
      'alter table orders modify total_cents bigint null, modify currency char(3) null',
      'create index orders_created on orders (created_at)',
      'alter table orders drop index orders_status',
      'create table shipments (id char(36) not null primary key)',
      'alter table shipments drop column id',
    ];
    for (const sql of additive) expect(breakingChanges([sql], existing), sql).to.deep.equal([]);
  });
});
