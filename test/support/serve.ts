// `streamguard serve` as a long-running child process: spawned, its output kept, its port read
// from the "serving on" line, and killed at cleanup if the test left it running.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { spawnCli } from '../server/support.js';

const SERVING = /serving on https:\/\/127\.0\.0\.1:(\d+) /;

export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with [code, signal] when the process exits. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  stdout(): string;
  stderr(): string;
  /** The port it serves on; rejects with its stderr if it exits first or is not serving in time. */
  port(timeoutMs: number): Promise<number>;
}

/**
 * Spawns `streamguard serve <args>` on an ephemeral loopback port, its certificates in `certDir`,
 * draining for `drainSeconds` on SIGTERM; registers a cleanup step that ends it with `killSignal` (then
 * waits for the exit) unless it has already exited.
 */
export function spawnServe(
  args: string[],
  options: { certDir: string; drainSeconds: number },
  cleanups: { push(step: () => Promise<void>): unknown },
  killSignal: NodeJS.Signals = 'SIGKILL',
): ServeProcess {
  const child = spawnCli([
    'serve',
    ...args,
    '--cert-dir',
    options.certDir,
    '--listen',
    '127.0.0.1:0',
    '--drain-seconds',
    String(options.drainSeconds),
  ]);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(killSignal);
      await exited;
    }
  });
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  return {
    child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    async port(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const port = SERVING.exec(stderr)?.[1];
        if (port) return Number(port);
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`serve exited before serving:\n${stderr}`);
        }
        if (Date.now() > deadline) {
          throw new Error(`serve not serving after ${timeoutMs} ms:\n${stderr}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}
