/**
 * A bounded chaos run against real processes on loopback: faults injected one after another under a steady
 * mixed load, then the client history and the databases checked (chaos/checker.ts). Stops by itself;
 * exits 1 when a check fails.
 *
 *   npm run chaos                         # the long run: split (MariaDB, Kafka, Redis of its own) and monolith
 *   npm run chaos -- --short              # the run `npm test` includes
 *   npm run chaos -- --shape monolith     # one shape only
 *   npm run chaos -- --only "Kafka restart,MariaDB restart"
 */
import { parseArgs } from 'node:util';
import { type ChaosOptions, formatResult, LONG, runChaos, SHORT } from './chaos.ts';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    shape: { type: 'string', default: 'split,monolith' },
    only: { type: 'string' },
    logs: { type: 'boolean', default: false },
  },
});

const profile = values.short ? SHORT : LONG;
let failed = false;
for (const shape of values.shape.split(',') as ChaosOptions['shape'][]) {
  const result = await runChaos({
    ...profile,
    shape,
    ...(values.only ? { only: values.only.split(',').map((s) => s.trim()) } : {}),
    log: (line) => console.error(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`),
  });
  console.log(`${formatResult(result)}\n`);
  if (result.verdict.violations.length > 0) {
    failed = true;
    if (values.logs)
      for (const [name, text] of Object.entries(result.logs)) console.log(`--- ${name}\n${text.slice(-6000)}`);
  }
}
process.exit(failed ? 1 : 0);
