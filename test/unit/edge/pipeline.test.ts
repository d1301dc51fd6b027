import type { IncomingMessage, ServerResponse } from 'node:http';
import { expect } from 'chai';
import { runSteps, type Step } from '../../../src/edge/pipeline.ts';

const req = {} as IncomingMessage;
const res = {} as ServerResponse;

/** Runs the steps and reports how the run ended. */
function run(steps: Step[]) {
  const seen: string[] = [];
  let ended: string | undefined;
  runSteps(
    steps,
    req,
    res,
    () => void (ended = 'done'),
    (error) => void (ended = `fail: ${(error as Error).message}`),
  );
  return { seen, ended };
}

const step =
  (name: string, log: string[], then: (next: (e?: unknown) => void) => void = (next) => next()): Step =>
  (_req, _res, next) => {
    log.push(name);
    then(next);
  };

describe('edge pipeline runner', () => {
  it('runs the steps in order, then dispatches', () => {
    const log: string[] = [];
    const { ended } = run([step('a', log), step('b', log), step('c', log)]);
    expect(log).to.deep.equal(['a', 'b', 'c']);
    expect(ended).to.equal('done');
  });

  it('stops at the first error, passed or thrown, and dispatches nothing', () => {
    const log: string[] = [];
    expect(run([step('a', log), step('b', log, (next) => next(new Error('no'))), step('c', log)]).ended).to.equal(
      'fail: no',
    );
    expect(
      run([
        step('a', log),
        step('t', log, () => {
          throw new Error('thrown');
        }),
      ]).ended,
    ).to.equal('fail: thrown');
    expect(log).to.deep.equal(['a', 'b', 'a', 't']);
  });

  it('answers a dispatcher that throws as a problem', () => {
    let failed: unknown;
    runSteps(
      [],
      req,
      res,
      () => {
        throw new Error('dispatch');
      },
      (error) => void (failed = error),
    );
    expect((failed as Error).message).to.equal('dispatch');
  });

  it('goes on when a step hands on later (asynchronously), and ignores a second hand-on', async () => {
    const log: string[] = [];
    let resume!: () => void;
    const paused = new Promise<void>((r) => (resume = r));
    let ended: string | undefined;
    runSteps(
      [
        step('async', log, (next) => void paused.then(() => next())),
        step('twice', log, (next) => {
          next();
          next();
        }),
      ],
      req,
      res,
      () => void (ended = ended ? `${ended}+done` : 'done'),
      () => void (ended = 'fail'),
    );
    expect(ended).to.equal(undefined);
    resume();
    await paused;
    await Promise.resolve();
    expect(log).to.deep.equal(['async', 'twice']);
    expect(ended).to.equal('done');
  });
});
