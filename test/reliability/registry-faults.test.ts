// Registry faults the planner must ride out, beyond test/mirror/plan-faults.test.ts: a 429 storm,
// slow and stalled bodies, Bearer tokens expiring mid-run, and a run that fails or is killed
// midway then resumes from its cache. The registry is Debian's docker-registry with token auth
// behind the fault-injecting proxy; `streamguard plan` runs as a child process, as a user runs it.
// Each case prints its figures (requests, retries, wall time) for RELIABILITY.md.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readRelease } from '../../src/mirror/release-reader.js';
import { RegistryClient, RegistryError } from '../../src/registry/index.js';
import { startFaultProxy, type FaultProxy } from '../registry-support/fault-proxy.js';
import { startTokenRegistry, writeAuthFile } from '../registry-support/auth.js';
import { absent, readPlan } from '../registry-support/plan-files.js';
import { setupOrFailEach, type RunningRegistry } from '../registry-support/registry.js';
import {
  COMPONENT_REPO,
  pushReleasePayloadTo,
  RELEASE_REPO,
  type SyntheticRelease,
} from '../registry-support/release-payload.js';
import type { TokenServer } from '../registry-support/token-server.js';
import { REPO_ROOT, runCli, type CliResult } from '../support/cli.js';

const USER = 'mirror-bot';
const PASSWORD = 'reliability-pass-7';
const TO = 'mirror.example.com/ocp';

// Setup pushes the payload through token auth and plans once; the storm case waits out ~8 pauses.
vi.setConfig({ hookTimeout: 120_000, testTimeout: 90_000 });

let tokens: TokenServer;
let registry: RunningRegistry;
let proxy: FaultProxy;
let payload: SyntheticRelease;
let work: string;
let auth: string;
let clean: Map<string, string>;
let cold: Figures;

interface Figures {
  requests: number;
  manifests: number;
  retries: number;
  seconds: number;
}

setupOrFailEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'sg-reliability-registry-'));
  ({ tokens, registry } = await startTokenRegistry({ [USER]: PASSWORD }));
  proxy = await startFaultProxy(registry.port);
  // One auth file naming both: the pusher talks to the registry, the planner to the proxy.
  auth = await writeAuthFile(join(work, 'auth.json'), [registry.host, proxy.host], USER, PASSWORD);
  payload = await pushReleasePayloadTo(registry.host, {
    referenceHost: proxy.host,
    authfile: auth,
  });
  const first = await plan('clean');
  expect(first.code, first.stderr).toBe(0);
  clean = await readPlan(join(work, 'clean'));
  cold = figures(first);
  report('cold run (no faults)', cold);
});

beforeEach(() => {
  proxy?.clearRules();
  tokens?.setExpiresIn(300);
  tokens?.issueStaleTokens(0);
});

afterAll(async () => {
  await proxy?.close();
  await registry?.stop();
  await tokens?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

function planArgs(out: string, extra: string[] = []): string[] {
  return [
    'plan',
    '--release',
    payload.release.pullspec,
    '--to',
    TO,
    '--out',
    join(work, out),
    '--authfile',
    auth,
    '--insecure-registry',
    proxy.host,
    ...extra,
  ];
}

function plan(out: string, extra: string[] = []): Promise<CliResult> {
  return runCli(planArgs(out, extra));
}

/** The planner's own count, from its summary line. */
function figures(result: CliResult): Figures {
  const line = /^Requests: (\d+) \((.*)\), (\d+) retr/m.exec(result.stdout);
  const time = /^Time: ([\d.]+) s$/m.exec(result.stdout);
  if (!line || !time) throw new Error(`no summary in:\n${result.stdout}\n${result.stderr}`);
  return {
    requests: Number(line[1]),
    manifests: Number(/manifest (\d+)/.exec(line[2] ?? '')?.[1] ?? 0),
    retries: Number(line[3]),
    seconds: Number(time[1]),
  };
}

function report(what: string, f: Figures, more = ''): void {
  console.log(
    `registry-faults: ${what}: ${f.requests} requests (${f.manifests} manifests), ${f.retries} retries, ${f.seconds.toFixed(1)} s${more ? `, ${more}` : ''}`,
  );
}

const esc = (s: string) => s.replace(/[.]/g, '\\.');
const COMPONENT_MANIFEST = new RegExp(`^/v2/${esc(COMPONENT_REPO)}/manifests/`);
const RELEASE_MANIFEST = new RegExp(`^/v2/${RELEASE_REPO}/manifests/`);
const RELEASE_BLOB = new RegExp(`^/v2/${RELEASE_REPO}/blobs/`);

describe('a 429 storm', () => {
  it('completes with identical output; every 429 costs one retry, and the pause holds the host', async () => {
    const STORM = 48;
    const rateLimited = {
      kind: 'status' as const,
      status: 429,
      headers: { 'retry-after': '1' },
      body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
    };
    proxy.addRule({ method: 'GET', path: RELEASE_MANIFEST, times: 2, fault: rateLimited });
    proxy.addRule({ method: 'GET', path: COMPONENT_MANIFEST, times: STORM, fault: rateLimited });
    const before = proxy.requests.length;
    const result = await plan('storm');
    expect(result.code, result.stderr).toBe(0);
    expect(await readPlan(join(work, 'storm'))).toEqual(clean);

    const seen = proxy.requests.slice(before);
    const limited = seen.filter((r) => r.status === 429);
    expect(limited).toHaveLength(2 + STORM);
    const f = figures(result);
    // Nothing but the 429s was retried, and nothing was asked twice beyond them.
    expect(f.retries).toBe(limited.length);
    expect(f.requests).toBe(cold.requests + limited.length);

    // The per-host pause: a request that reaches the registry while an announced pause runs
    // (Retry-After counted from the 429's arrival) was sent by a client that ignored it, unless
    // it was already on its way. Count them; with the pause respected they are at most the
    // requests in flight when the 429 went out (the concurrency, 8) per burst.
    const pauses = limited.map((r) => ({ from: r.at, until: r.at + 1_000 }));
    const early = seen.filter(
      (r) => r.status !== 429 && pauses.some((p) => r.at > p.from + 100 && r.at < p.until - 100),
    );
    const bursts = new Set(limited.map((r) => Math.floor(r.at / 1_000))).size;
    report(
      '429 storm',
      f,
      `${limited.length} answered 429 (Retry-After 1 s) in ${bursts} burst(s), ${early.length} request(s) inside an announced pause`,
    );
    expect(early.length).toBeLessThanOrEqual(8 * bursts);
  });
});

describe('slow bodies', () => {
  it('a trickled payload layer and trickled manifests: completes with identical output', async () => {
    proxy.addRule({
      method: 'GET',
      path: RELEASE_BLOB,
      times: 1,
      fault: { kind: 'trickle', chunkBytes: 2048, everyMs: 5 },
    });
    proxy.addRule({
      method: 'GET',
      path: COMPONENT_MANIFEST,
      times: 24,
      fault: { kind: 'trickle', chunkBytes: 64, everyMs: 20 },
    });
    const before = proxy.requests.length;
    const result = await plan('trickle');
    expect(result.code, result.stderr).toBe(0);
    expect(await readPlan(join(work, 'trickle'))).toEqual(clean);
    const trickled = proxy.requests.slice(before).filter((r) => r.fault === 'trickle');
    expect(trickled).toHaveLength(25);
    const f = figures(result);
    expect(f.retries).toBe(0);
    report(
      'trickled bodies',
      f,
      `${trickled.length} bodies trickled (${trickled.reduce((n, r) => n + r.bytesSent, 0)} bytes)`,
    );
  });

  it('a body that stalls for good: a clear timeout error naming the image, after every attempt', async () => {
    // The CLI's body timeout is 30 s of silence per attempt; a client with a short one shows the
    // same path quickly. A RegistryError from readRelease is what the CLI turns into exit 3 with
    // no output (test/mirror/plan-faults.test.ts proves that step for every RegistryError).
    const target = payload.components[60]?.digest ?? '';
    proxy.addRule({
      method: 'GET',
      path: new RegExp(`/manifests/${target}$`),
      fault: { kind: 'stall', bytes: 20 },
    });
    const client = new RegistryClient({
      insecureRegistries: [proxy.host],
      authfile: auth,
      timeouts: { bodyMs: 300 },
      retry: { baseMs: 10, capMs: 50 },
    });
    const started = Date.now();
    let error: unknown;
    try {
      await readRelease(client, payload.release.pullspec, { withSizes: true });
    } catch (err) {
      error = err;
    } finally {
      await client.close();
    }
    expect(error).toBeInstanceOf(RegistryError);
    const e = error as RegistryError;
    expect(e.code).toBe('NETWORK');
    expect(e.attempts).toBe(5);
    expect(e.message).toContain(`${COMPONENT_REPO}@${target}`);
    expect(e.message).toMatch(/UND_ERR_BODY_TIMEOUT/);
    console.log(
      `registry-faults: stalled body: failed after ${e.attempts} attempts in ${((Date.now() - started) / 1000).toFixed(1)} s: ${e.message}`,
    );
  });
});

describe('token expiry mid-run', () => {
  it('short-lived tokens are renewed, one the registry rejects is replaced, and the plan completes', async () => {
    // Tokens live 1 s. Each component manifest is held 100 ms, so the 185 take at least
    // 185 / 8 × 100 ms ≈ 2.3 s: tokens must be renewed during the run. At the 40th component the
    // token server starts handing out one token the registry sees as expired (the next renewal,
    // which comes at most 0.8 s later, gets it): the registry answers 401 and the client renews.
    tokens.setExpiresIn(1);
    let seenComponents = 0;
    proxy.addRule({
      method: 'GET',
      path: COMPONENT_MANIFEST,
      fault: {
        kind: 'tap',
        run: () => {
          if (++seenComponents === 40) tokens.issueStaleTokens(1);
        },
        delayMs: 100,
      },
    });
    const beforeTokens = tokens.requests.length;
    const before = proxy.requests.length;
    const result = await plan('tokens');
    expect(result.code, result.stderr).toBe(0);
    expect(await readPlan(join(work, 'tokens'))).toEqual(clean);
    const issued = tokens.requests.slice(beforeTokens).filter((r) => r.status === 200);
    const rejected = proxy.requests
      .slice(before)
      .filter((r) => r.status === 401 && r.path !== '/v2/');
    // 2 at the start (release and component repositories), at least the renewal that got the
    // stale token, and its replacement.
    expect(issued.length).toBeGreaterThanOrEqual(4);
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    const f = figures(result);
    expect(f.manifests).toBe(cold.manifests + rejected.length);
    report(
      'tokens of 1 s',
      f,
      `${issued.length} tokens issued, ${rejected.length} request(s) refused with an expired token and repeated`,
    );
    for (const token of tokens.issued) expect(result.stdout + result.stderr).not.toContain(token);
  });
});

// The CLI as a child process we can kill (runCli only waits for it).
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const ENTRY = fileURLToPath(new URL('../support/cli-entry.ts', import.meta.url));

describe('resume from the cache', () => {
  it('a run that fails midway, then a rerun: fewer requests, identical output', async () => {
    const cache = join(work, 'cache-failed');
    const target = payload.components[120]?.digest ?? '';
    proxy.addRule({
      method: 'GET',
      path: new RegExp(`/manifests/${target}$`),
      fault: { kind: 'status', status: 503 },
    });
    const failed = await plan('resume-failed', ['--cache-dir', cache]);
    expect(failed.code).toBe(3);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toContain(`@${target}: GET manifest failed`);
    await absent(join(work, 'resume-failed'));
    const cached = (await readdir(join(cache, 'sha256'))).length;
    expect(cached).toBeGreaterThan(0);

    proxy.clearRules();
    const rerun = await plan('resume-failed', ['--cache-dir', cache]);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await readPlan(join(work, 'resume-failed'))).toEqual(clean);
    const f = figures(rerun);
    expect(rerun.stdout).toMatch(/payload files from the cache/);
    expect(f.requests).toBeLessThan(cold.requests);
    report('rerun after a failed run', f, `${cached} cache entries left by the failed run`);

    // And a third run finds everything: only the release manifest (fetched by tag) is asked.
    const warm = await plan('resume-warm', ['--cache-dir', cache]);
    expect(warm.code, warm.stderr).toBe(0);
    expect(await readPlan(join(work, 'resume-warm'))).toEqual(clean);
    const w = figures(warm);
    expect(w.manifests).toBe(1);
    report('warm rerun', w);
  });

  it('a run killed midway (SIGKILL), then a rerun: fewer requests, identical output', async () => {
    const cache = join(work, 'cache-killed');
    let components = 0;
    let kill: () => void = () => undefined;
    proxy.addRule({
      method: 'GET',
      path: COMPONENT_MANIFEST,
      fault: {
        kind: 'tap',
        run: () => {
          if (++components === 90) kill();
        },
      },
    });
    const child = spawn(
      process.execPath,
      ['--import', TSX, ENTRY, ...planArgs('resume-killed', ['--cache-dir', cache])],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    kill = () => child.kill('SIGKILL');
    const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('close', (_code, sig) => resolve(sig)),
    );
    expect(signal).toBe('SIGKILL');
    await absent(join(work, 'resume-killed'));
    const cached = (await readdir(join(cache, 'sha256'))).filter((n) => !n.startsWith('.'));
    expect(cached.length).toBeGreaterThan(0);

    proxy.clearRules();
    const rerun = await plan('resume-killed', ['--cache-dir', cache]);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await readPlan(join(work, 'resume-killed'))).toEqual(clean);
    const f = figures(rerun);
    expect(f.manifests).toBeLessThan(cold.manifests);
    expect(f.requests).toBeLessThan(cold.requests);
    report(
      'rerun after SIGKILL at the 90th component',
      f,
      `${cached.length} cache entries survived`,
    );
  });
});
