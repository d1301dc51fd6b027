/**
 * Another revision of the code, checked out beside this one (a detached git worktree sharing this
 * checkout's node_modules), so that one bench run can measure before and after on the same machine state.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface Baseline {
  /** The revision as given, and the commit it named. */
  label: string;
  dir: string;
  remove(): void;
}

export function checkoutBaseline(revision: string): Baseline {
  const commit = execFileSync('git', ['rev-parse', '--short', `${revision}^{commit}`], { encoding: 'utf8' }).trim();
  const dir = join(mkdtempSync(join(tmpdir(), 'hexashop-baseline-')), 'tree');
  execFileSync('git', ['worktree', 'add', '--detach', '--quiet', dir, commit]);
  symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
  return {
    label: `${revision} (${commit})`,
    dir,
    remove: () => {
      execFileSync('git', ['worktree', 'remove', '--force', dir]);
      rmSync(resolve(dir, '..'), { recursive: true, force: true });
    },
  };
}
