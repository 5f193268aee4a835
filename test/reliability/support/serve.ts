// `streamguard serve` in its own process, as it runs in a Pod: from the build (bin/streamguard.js,
// for figures) or from source through tsx (for CI, which does not build first). Its RSS is read
// from /proc, so nothing is added to the server to measure it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { REPO_ROOT, sleep } from './load.js';

const ENTRY = fileURLToPath(new URL('../../support/cli-entry.ts', import.meta.url));
const BIN = join(REPO_ROOT, 'bin/streamguard.js');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  /** The directory the serving pair is in (--cert-dir, or the files given). */
  dir: string;
  ca: string;
  /** The process's resident set size now, bytes. */
  rss(): number;
  /** Everything written to stderr, and stdout lines when `logs` was asked for. */
  stderr(): string;
  stdout(): string;
  /** SIGTERM, and the exit code and signal once it is gone. */
  terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops it (SIGKILL if still there) and removes its directory. */
  close(): Promise<void>;
}

export interface ServeSpawnOptions {
  /** Run the build (bin/streamguard.js) instead of the source through tsx. */
  built?: boolean;
  /** Extra arguments (context, TLS); without TLS arguments it is --self-signed. */
  args: string[];
  /** TLS files of our own (--tls-cert/--tls-key in args) and the CA that signed them. */
  ca?: string;
  /** Keep the JSON logs (stdout) in memory. */
  logs?: boolean;
}

export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`/proc/${pid}/status: no VmRSS line`);
  return Number(kb) * 1024;
}

export async function spawnServe(options: ServeSpawnOptions): Promise<ServeProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'streamguard-reliability-'));
  const tls = options.ca ? [] : ['--self-signed', '--cert-dir', dir];
  const cli = options.built ? [BIN] : ['--import', TSX, ENTRY];
  const child = spawn(
    process.execPath,
    [...cli, 'serve', '--listen', '127.0.0.1:0', ...tls, ...options.args],
    { cwd: REPO_ROOT, stdio: ['ignore', options.logs ? 'pipe' : 'ignore', 'pipe'] },
  );
  let stderr = '';
  let stdout = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const close = async () => {
    if (!gone()) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 30_000;
    let port: number | undefined;
    while (port === undefined) {
      port = Number(/serving on https:\/\/127\.0\.0\.1:(\d+) /.exec(stderr)?.[1]) || undefined;
      if (gone()) throw new Error(`streamguard serve exited: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`streamguard serve did not start: ${stderr}`);
      if (port === undefined) await sleep(25);
    }
    const ca = options.ca ?? (await readFile(join(dir, 'ca.crt'), 'utf8'));
    return {
      child,
      port,
      dir,
      ca,
      rss: () => rssOf(child.pid as number),
      stderr: () => stderr,
      stdout: () => stdout,
      terminate: async () => {
        if (!gone()) child.kill('SIGTERM');
        const [code, signal] = await exited;
        return { code, signal };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
