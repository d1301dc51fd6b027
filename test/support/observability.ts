/**
 * What deploy/observability holds, read for tests: every PromQL expression of its rules and dashboards (with
 * where it came from), the metric names each one selects, and what the parser thinks of it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';

export const OBSERVABILITY_DIR = 'deploy/observability';
export const RULES_DIR = join(OBSERVABILITY_DIR, 'rules');
export const DASHBOARDS_DIR = join(OBSERVABILITY_DIR, 'dashboards');

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Expression {
  /** e.g. `rules/alerts.rules.yml: alert ServiceDown` or `dashboards/hexashop-red.json: Requests/s by route`. */
  where: string;
  expr: string;
}

const filesIn = (dir: string, suffix: string): string[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith(suffix))
    .sort()
    .map((name) => join(dir, name));

/** The rule files Prometheus loads (prometheus.yml: rules/*.rules.yml); the *.test.yml beside them are promtool's. */
export const ruleFiles = (): string[] => filesIn(RULES_DIR, '.rules.yml');
export const ruleTestFiles = (): string[] => filesIn(RULES_DIR, '.test.yml');
export const dashboardFiles = (): string[] => filesIn(DASHBOARDS_DIR, '.json');

export function rulesOf(file: string): Rule[] {
  const doc = parse(readFileSync(file, 'utf8')) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((group) => group.rules);
}

export const allRules = (): Rule[] => ruleFiles().flatMap(rulesOf);

/** Names the recording rules define: series Prometheus makes, not the application. */
export const recordedNames = (): Set<string> =>
  new Set(allRules().flatMap((rule) => (rule.record ? [rule.record] : [])));

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}
interface Dashboard {
  panels?: Panel[];
  templating?: { list?: { name: string; query?: string | { query?: string } }[] };
}

/** Grafana's interval variables become a literal duration, so the rest parses as plain PromQL. */
const withoutGrafanaIntervals = (expr: string): string => expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m');

export function dashboardExpressions(file: string): Expression[] {
  const dashboard = JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
  const name = file.slice(OBSERVABILITY_DIR.length + 1);
  const panels = (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  const fromPanels = panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ where: `${name}: ${panel.title}`, expr: target.expr ?? '' })),
  );
  // A query variable's `label_values(selector, label)`: the selector is PromQL.
  const fromVariables = (dashboard.templating?.list ?? []).flatMap((variable) => {
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    const selector = query?.match(/^label_values\((.+),\s*\w+\)$/)?.[1];
    return selector ? [{ where: `${name}: variable ${variable.name}`, expr: selector }] : [];
  });
  return [...fromPanels, ...fromVariables].map((e) => ({ ...e, expr: withoutGrafanaIntervals(e.expr) }));
}

export function allExpressions(): Expression[] {
  const rules = ruleFiles().flatMap((file) =>
    rulesOf(file).map((rule) => ({
      where: `${file.slice(OBSERVABILITY_DIR.length + 1)}: ${rule.alert ? `alert ${rule.alert}` : `record ${rule.record}`}`,
      expr: rule.expr,
    })),
  );
  return [...rules, ...dashboardFiles().flatMap(dashboardExpressions)];
}

/** Where the PromQL parser found an error in `expr` (error nodes, or nothing parsed), as `offset: text`. */
export function parseErrors(expr: string): string[] {
  if (expr.trim() === '') return ['empty expression'];
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(`${node.from}: ${JSON.stringify(expr.slice(node.from, node.from + 20))}`);
    },
  });
  return errors;
}

/** The metric names `expr` selects (the identifier of each vector selector). */
export function metricNames(expr: string): string[] {
  const names: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.name !== 'VectorSelector') return;
      const identifier = node.node.getChild('Identifier');
      if (identifier) names.push(expr.slice(identifier.from, identifier.to));
    },
  });
  return names;
}

/** For each vector selector of `expr`: its metric name and the label names its matchers use. */
export function selectors(expr: string): { name: string; labels: string[] }[] {
  const found: { name: string; labels: string[] }[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.name !== 'VectorSelector') return;
      const identifier = node.node.getChild('Identifier');
      if (!identifier) return;
      const labels: string[] = [];
      const matchers = node.node.getChild('LabelMatchers');
      for (const matcher of matchers?.getChildren('UnquotedLabelMatcher') ?? []) {
        const label = matcher.getChild('LabelName');
        if (label) labels.push(expr.slice(label.from, label.to));
      }
      found.push({ name: expr.slice(identifier.from, identifier.to), labels });
    },
  });
  return found;
}

/** The label names each series name of a /metrics page carries (from its samples; none before the first). */
export function exportedLabels(text: string): Map<string, Set<string>> {
  const labels = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const sample = line.match(/^([a-zA-Z_:][\w:]*)\{(.*)\}\s/);
    if (!sample) continue;
    const [, name, body] = sample as unknown as [string, string, string];
    let set = labels.get(name);
    if (!set) labels.set(name, (set = new Set()));
    for (const [, label] of body.matchAll(/([a-zA-Z_]\w*)="/g)) set.add(label!);
  }
  return labels;
}

/**
 * The series names a /metrics page (Prometheus text format) offers: each sample's name, and for each
 * `# TYPE` the names it will have once observed (a labelled metric shows no sample before its first one).
 */
export function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = line.match(/^# TYPE (\S+) (\S+)/);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      names.add(name);
      if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
      if (kind === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
    } else if (line && !line.startsWith('#')) {
      names.add(line.split(/[{ ]/, 1)[0]!);
    }
  }
  return names;
}
