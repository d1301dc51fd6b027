/**
 * What a bench leaves behind besides its printed tables: the figures as JSON and a chart as SVG under
 * bench/results/ (ignored by git), `<name>-<time>.*` and `<name>-latest.*`. The SVG is drawn by hand (no
 * charting library): one horizontal bar per measured path, grouped by scenario, each group scaled to its
 * own largest bar, with the latencies written beside it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Bar {
  /** The scenario the bar belongs to, e.g. "monolith orders sync". */
  group: string;
  /** Which path, e.g. "ours" or "floor". */
  label: string;
  value: number;
  unit: string;
  /** Written after the value, e.g. "p50 4 ms, p99 41 ms". */
  note?: string;
}

const DIR = 'bench/results';

export function writeResults(name: string, title: string, data: unknown, bars: readonly Bar[]): string {
  mkdirSync(DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const json = JSON.stringify({ name, title, at: new Date().toISOString(), data }, null, 2);
  const svg = chart(title, bars);
  for (const file of [`${name}-${stamp}`, `${name}-latest`]) {
    writeFileSync(join(DIR, `${file}.json`), json);
    writeFileSync(join(DIR, `${file}.svg`), svg);
  }
  return join(DIR, `${name}-latest.svg`);
}

const ROW = 22;
const GROUP_GAP = 14;
const LABEL_WIDTH = 220;
const BAR_WIDTH = 360;
const WIDTH = LABEL_WIDTH + BAR_WIDTH + 260;
/** Ours in blue, what we are measured against in greys. */
const COLORS: Record<string, string> = {
  ours: '#2f6fdf',
  gateway: '#2f6fdf',
  floor: '#9aa5b1',
  'floor+http': '#6d7a87',
  'node floor': '#9aa5b1',
  nginx: '#7f8c8d',
  direct: '#c0c6cc',
};

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function chart(title: string, bars: readonly Bar[]): string {
  const groups = [...new Set(bars.map((b) => b.group))];
  const parts: string[] = [`<text x="12" y="24" font-size="15" font-weight="bold">${escape(title)}</text>`];
  let y = 44;
  for (const group of groups) {
    const inGroup = bars.filter((b) => b.group === group);
    const largest = Math.max(...inGroup.map((b) => b.value), 1);
    parts.push(`<text x="12" y="${y + 14}" font-size="13" font-weight="bold">${escape(group)}</text>`);
    y += ROW;
    for (const bar of inGroup) {
      const width = Math.max(1, Math.round((bar.value / largest) * BAR_WIDTH));
      const color = COLORS[bar.label] ?? '#6b8e23';
      parts.push(
        `<text x="28" y="${y + 14}" font-size="12">${escape(bar.label)}</text>`,
        `<rect x="${LABEL_WIDTH}" y="${y + 3}" width="${width}" height="${ROW - 6}" fill="${color}"/>`,
        `<text x="${LABEL_WIDTH + width + 6}" y="${y + 14}" font-size="12">${escape(
          `${Math.round(bar.value)} ${bar.unit}${bar.note ? `  (${bar.note})` : ''}`,
        )}</text>`,
      );
      y += ROW;
    }
    y += GROUP_GAP;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
