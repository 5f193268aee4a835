// Helpers for the kube-api tests: waiting for a condition, raw HTTPS calls that trust the
// server's CA, reading a watch stream line by line, and running the real kubectl.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { KubeApi } from './server.js';

/** Polls `check` until it returns something other than undefined/false; fails after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
  /** What to report on timeout, e.g. the request log, so a failure says what happened. */
  state?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}` +
          (state ? `\n${state()}` : ''),
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The request log, one line per request: method, path, watch, resourceVersion, code. */
export function requestSummary(api: KubeApi): string {
  return api.requests
    .map(
      (r) =>
        `${r.method} ${r.path}${r.query.watch ? ' watch' : ''} rv=${r.query.resourceVersion ?? ''} -> ${r.code ?? '…'}`,
    )
    .join('\n');
}

export interface Answer {
  code: number;
  contentType: string;
  /** The Warning headers' texts. */
  warnings: string[];
  body: Record<string, unknown>;
}

/** A Warning header's text: UTF-8 bytes (read as latin1), `299 - "quoted-string"`. */
function unquoteWarning(header: string): string {
  const text = Buffer.from(header, 'latin1').toString('utf8');
  const quoted = /^299 - "((?:[^"\\]|\\.)*)"$/.exec(text);
  if (!quoted) throw new Error(`not a Warning header: ${text}`);
  return (quoted[1] ?? '').replace(/\\(.)/g, '$1');
}

/** One HTTPS request to the server, trusting only its CA; the token unless `token: null`. */
export async function call(
  api: KubeApi,
  method: string,
  path: string,
  options: { body?: unknown; contentType?: string; token?: string | null; accept?: string } = {},
): Promise<Answer> {
  const dispatcher = new Agent({ connect: { ca: api.caPem } });
  try {
    const token = options.token === undefined ? api.token : options.token;
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    }
    const res = await request(`${api.url}${path}`, { method, headers, body, dispatcher });
    const text = await res.body.text();
    const warning = res.headers.warning;
    return {
      code: res.statusCode,
      contentType: String(res.headers['content-type'] ?? ''),
      warnings: (Array.isArray(warning) ? warning : warning === undefined ? [] : [warning]).map(
        unquoteWarning,
      ),
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    };
  } finally {
    await dispatcher.close();
  }
}

export interface WatchEvent {
  type: string;
  object: Record<string, unknown> & { metadata?: Record<string, unknown> };
}

/** An open watch: its events as they arrive, and whether the server ended the stream. */
export interface OpenWatch {
  events: WatchEvent[];
  ended: Promise<void>;
  close(): Promise<void>;
}

export async function openWatch(api: KubeApi, path: string): Promise<OpenWatch> {
  const dispatcher = new Agent({ connect: { ca: api.caPem } });
  const res = await request(`${api.url}${path}`, {
    headers: { authorization: `Bearer ${api.token}`, accept: 'application/json' },
    dispatcher,
  });
  if (res.statusCode !== 200) {
    const text = await res.body.text();
    await dispatcher.close();
    throw new Error(`watch ${path}: HTTP ${res.statusCode}: ${text}`);
  }
  const events: WatchEvent[] = [];
  let buffered = '';
  const ended = (async () => {
    try {
      for await (const chunk of res.body) {
        buffered += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffered.slice(0, nl)) as WatchEvent);
          buffered = buffered.slice(nl + 1);
        }
      }
    } catch {
      // a reset stream ends the watch too
    }
  })();
  return {
    events,
    ended,
    close: async () => {
      res.body.destroy();
      await ended;
      await dispatcher.destroy();
    },
  };
}

export const KUBECTL = '/usr/bin/kubectl';

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real kubectl against the server with its own discovery cache directory. */
export function kubectl(
  api: KubeApi,
  cacheDir: string,
  args: string[],
  input?: string,
): Promise<KubectlResult> {
  if (!existsSync(KUBECTL)) {
    throw new Error(`${KUBECTL} is missing: these tests prove the protocol with the real kubectl`);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(
      KUBECTL,
      ['--kubeconfig', api.kubeconfigPath, '--cache-dir', cacheDir, ...args],
      {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cacheDir },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Splits kubectl's stream of pretty-printed JSON documents into objects as they complete. */
export function jsonDocuments(): { push(text: string): void; docs: Record<string, unknown>[] } {
  const docs: Record<string, unknown>[] = [];
  let buffer = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  return {
    docs,
    push(text: string) {
      for (const ch of text) {
        buffer += ch;
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === '\\') escaped = true;
          else if (ch === '"') inString = false;
          continue;
        }
        if (ch === '"') inString = true;
        else if (ch === '{') {
          if (depth === 0) start = buffer.length - 1;
          depth++;
        } else if (ch === '}') {
          depth--;
          if (depth === 0) {
            docs.push(JSON.parse(buffer.slice(start)) as Record<string, unknown>);
            buffer = '';
          }
        }
      }
    },
  };
}

/** A long-running kubectl (e.g. `get -w`): its JSON documents as they arrive, and stop(). */
export function kubectlStream(
  api: KubeApi,
  cacheDir: string,
  args: string[],
): {
  docs: Record<string, unknown>[];
  stdout: () => string;
  stderr: () => string;
  stop(): Promise<void>;
} {
  if (!existsSync(KUBECTL)) {
    throw new Error(`${KUBECTL} is missing: these tests prove the protocol with the real kubectl`);
  }
  const child = spawn(
    KUBECTL,
    ['--kubeconfig', api.kubeconfigPath, '--cache-dir', cacheDir, ...args],
    {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cacheDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const parser = jsonDocuments();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (args.includes('json')) parser.push(d.toString());
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    docs: parser.docs,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
