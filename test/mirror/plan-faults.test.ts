// `streamguard plan` through a fault-injecting proxy in front of the registry: 429 with
// Retry-After, 5xx, connection resets, truncated bodies and wrong digests. The plan either
// completes with output identical to a clean run, or fails with exit 3, a clear message and no
// output directory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultProxy } from '../registry-support/fault-proxy.js';
import { startProxiedRelease } from '../registry-support/proxied-release.js';
import { buildImage, gzip, tar } from '../registry-support/images.js';
import { absent, readPlan } from '../registry-support/plan-files.js';
import { setupOrFailEach, type RunningRegistry } from '../registry-support/registry.js';
import {
  COMPONENT_REPO,
  RELEASE_REPO,
  type SyntheticRelease,
} from '../registry-support/release-payload.js';
import { runCli, type CliResult } from '../support/cli.js';

const TO = 'mirror.example.com/ocp';

let registry: RunningRegistry;
let proxy: FaultProxy;
let payload: SyntheticRelease;
let work: string;
let clean: Map<string, string>;

setupOrFailEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'sg-plan-faults-'));
  ({ registry, proxy, payload } = await startProxiedRelease());
  const first = await plan('clean');
  expect(first.code, first.stderr).toBe(0);
  clean = await readPlan(join(work, 'clean'));
});

beforeEach(() => proxy?.clearRules());

afterAll(async () => {
  await proxy?.close();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

function plan(out: string): Promise<CliResult> {
  return runCli([
    'plan',
    '--release',
    payload.release.pullspec,
    '--to',
    TO,
    '--out',
    join(work, out),
    '--insecure-registry',
    proxy.host,
  ]);
}

const COMPONENT_MANIFEST = new RegExp(`^/v2/${COMPONENT_REPO.replace(/\./g, '\\.')}/manifests/`);
const RELEASE_MANIFEST = new RegExp(`^/v2/${RELEASE_REPO}/manifests/`);
const RELEASE_BLOB = new RegExp(`^/v2/${RELEASE_REPO}/blobs/`);

describe('plan through faults', () => {
  it('rides out 429 + Retry-After, 5xx, resets and truncated bodies with identical output', async () => {
    proxy.addRule({
      method: 'GET',
      path: RELEASE_MANIFEST,
      times: 1,
      fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: '{}' },
    });
    proxy.addRule({
      method: 'GET',
      path: RELEASE_BLOB,
      times: 1,
      fault: { kind: 'truncate', bytes: 3000 },
    });
    proxy.addRule({ method: 'GET', path: RELEASE_BLOB, times: 1, fault: { kind: 'reset' } });
    proxy.addRule({
      method: 'GET',
      path: COMPONENT_MANIFEST,
      times: 3,
      fault: { kind: 'status', status: 503 },
    });
    proxy.addRule({
      method: 'GET',
      path: COMPONENT_MANIFEST,
      times: 2,
      fault: { kind: 'status', status: 502 },
    });
    proxy.addRule({ method: 'GET', path: COMPONENT_MANIFEST, times: 3, fault: { kind: 'reset' } });
    proxy.addRule({
      method: 'GET',
      path: COMPONENT_MANIFEST,
      times: 3,
      fault: { kind: 'truncate', bytes: 40 },
    });
    proxy.addRule({
      method: 'GET',
      path: COMPONENT_MANIFEST,
      times: 2,
      fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: '{}' },
    });
    const before = proxy.requests.length;
    const result = await plan('faulty');
    expect(result.code, result.stderr).toBe(0);
    expect(await readPlan(join(work, 'faulty'))).toEqual(clean);
    const faults = proxy.requests.slice(before).filter((r) => r.fault !== undefined);
    expect(faults.length).toBe(1 + 2 + 3 + 2 + 3 + 3 + 2);
    const retries = Number(/^Requests: \d+ \(.*\), (\d+) retr/m.exec(result.stdout)?.[1]);
    expect(retries).toBeGreaterThanOrEqual(faults.length - 2);
    expect(result.stderr).toMatch(
      /^plan: 185\/185 components \(100%\), \d+ requests, [1-9]\d* retries$/m,
    );
  });

  it('fails with exit 3, the reason and no output on a wrong digest or a short body', async () => {
    const other = buildImage({
      format: 'oci',
      layers: [gzip(tar([{ path: 'x', contents: 'evil' }]))],
    });
    proxy.addRule({
      method: 'GET',
      path: COMPONENT_MANIFEST,
      times: 1,
      fault: {
        kind: 'replace',
        body: other.manifest,
        headers: { 'content-type': other.mediaType, 'docker-content-digest': other.digest },
      },
    });
    const result = await plan('wrong-digest');
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^streamguard: failed: cannot read release \S+: \S+ocp-v4\.0-art-dev@sha256:[0-9a-f]{64}: .*DIGEST_MISMATCH/m,
    );
    expect(result.stderr).not.toMatch(/^\s+at /m);
    await absent(join(work, 'wrong-digest'));

    // A body cut short but labelled with the matching Content-Length is wrong content too.
    proxy.clearRules();
    proxy.addRule({
      method: 'GET',
      path: COMPONENT_MANIFEST,
      times: 1,
      fault: { kind: 'short', bytes: 10 },
    });
    const short = await plan('short-body');
    expect(short.code).toBe(3);
    expect(short.stderr).toMatch(/ocp-v4\.0-art-dev@sha256:[0-9a-f]{64}: .*DIGEST_MISMATCH/);
    await absent(join(work, 'short-body'));
  });

  it('fails with exit 3 and no output when the registry keeps failing or asks to wait too long', async () => {
    const target = payload.components[40]?.digest ?? '';
    proxy.addRule({
      method: 'GET',
      path: new RegExp(`/manifests/${target}$`),
      fault: {
        kind: 'status',
        status: 503,
        body: '{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}',
      },
    });
    const down = await plan('down');
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(
      new RegExp(
        `cannot read release \\S+: \\S+@${target}: GET manifest failed: maintenance \\(HTTP 503, UNAVAILABLE, 5 attempts\\)`,
      ),
    );
    await absent(join(work, 'down'));

    proxy.clearRules();
    proxy.addRule({
      method: 'GET',
      path: RELEASE_MANIFEST,
      fault: { kind: 'status', status: 429, headers: { 'retry-after': '3600' }, body: '{}' },
    });
    const throttled = await plan('throttled');
    expect(throttled.code).toBe(3);
    expect(throttled.stderr).toMatch(
      /asks to wait 3600 s \(Retry-After\), more than the 60 s allowed/,
    );
    await absent(join(work, 'throttled'));
  });
});
