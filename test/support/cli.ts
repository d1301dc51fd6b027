/** The `hexashop` command as child processes, run by this Node (the pinned 24 under mocha), as an operator would. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually } from './http.ts';

/** Runs a command to completion; rejects with its output when it exits non-zero. */
export const hexashop = (args: string[], env: NodeJS.ProcessEnv) =>
  promisify(execFile)(process.execPath, ['bin/hexashop.js', ...args], { env, timeout: 120_000 });

export interface RoleProcess {
  child: ChildProcess;
  /** stdout and stderr as they came, for failure messages. */
  output(): string;
  /** stderr alone, where the logger and the CLI's errors go. */
  stderr(): string;
  /** The exit code (null when a signal ended it), once it has exited. */
  exited: Promise<number | null>;
  /** Waits until `GET url/health/ready` answers 200; fails at once if the process exits first. */
  ready(url: string, timeoutMs?: number): Promise<void>;
  /** Sends the signal unless it already exited, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `hexashop start --role R --port P [args]` in the background. */
export function spawnRole(role: string, port: number, env: NodeJS.ProcessEnv, args: string[] = []): RoleProcess {
  const child = spawn(process.execPath, ['bin/hexashop.js', 'start', '--role', role, '--port', String(port), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const stderr: string[] = [];
  child.stdout.on('data', (chunk) => output.push(String(chunk)));
  child.stderr.on('data', (chunk) => {
    output.push(String(chunk));
    stderr.push(String(chunk));
  });
  // 'close', not 'exit': by then stdout and stderr have been read to the end.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    output: () => output.join(''),
    stderr: () => stderr.join(''),
    exited,
    ready: async (url, timeoutMs = 60_000) => {
      await eventually(
        async () => {
          if (!running()) throw new Error(`${role} exited with ${child.exitCode}:\n${output.join('')}`);
          const ready = await fetch(`${url}/health/ready`).catch(() => null);
          return ready?.ok ? true : undefined;
        },
        timeoutMs,
        `${role} to be ready`,
      );
    },
    stop: async (signal = 'SIGTERM') => {
      if (running()) child.kill(signal);
      await exited;
    },
  };
}
