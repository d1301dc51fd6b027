import { expect } from 'chai';
import { type ChaosResult, formatResult, runChaos, SHORT } from '../../chaos/chaos.ts';
import { faultsFor } from '../../chaos/faults.ts';

/**
 * The short chaos run (`npm run chaos -- --short`): every fault once, under a light mixed load, on real
 * processes, MariaDB, Kafka and Redis (the split shape on services of its own that it crashes), then the
 * clients' history and the databases checked. The long run is `npm run chaos`.
 */
describe('chaos (short): every fault under load, then the history checked', function () {
  this.timeout(20 * 60_000);

  const report = (result: ChaosResult) =>
    `${formatResult(result)}\n${Object.entries(result.logs)
      .map(([name, text]) => `--- ${name}\n${text.slice(-3000)}`)
      .join('\n')}`;

  for (const shape of ['split', 'monolith'] as const) {
    it(`${shape}: nothing acknowledged lost, nothing applied twice, stock conserved, every order settled`, async () => {
      const result = await runChaos({ ...SHORT, shape });
      console.log(
        formatResult(result)
          .split('\n')
          .map((line) => `      ${line}`)
          .join('\n'),
      );
      const { rows, totals, violations } = result.verdict;
      expect(violations, report(result)).to.deep.equal([]);
      // Every fault ran under load, and the load did real work.
      expect(rows.map((r) => r.fault)).to.deep.equal([
        'none (steady load)',
        ...faultsFor(shape).faults.map((f) => f.name),
      ]);
      for (const row of rows) expect(row.operations, row.fault).to.be.greaterThan(0);
      expect(totals.confirmed).to.be.greaterThan(0);
      expect(totals.cancelled).to.be.greaterThan(0);
      // Killing the process that serves every request is felt: the run injects real faults.
      const felt = rows.filter((r) => r.failedAttempts > 0).map((r) => r.fault);
      expect(felt).to.include(shape === 'split' ? 'kill -9 gateway' : 'kill -9 monolith');
    });
  }
});
