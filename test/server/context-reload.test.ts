// The policy and the state are watched: a good new file changes decisions without a restart, a
// broken one is refused (counted, logged) and the last good one stays in force.
import { cp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXAMPLE_STATE,
  exampleRequest,
  metric,
  scrape,
  startTestServer,
  tempDir,
  type AdmissionResponseJson,
  type TestServer,
} from './support.js';

const HEADER = 'apiVersion: streamguard.io/v1alpha1\nkind: StreamPolicy\n';
const flip = exampleRequest('nodepool-release-flip.json');
const runc = exampleRequest('configmap-add-runc.json');
const replaceDowngrade = (() => {
  // The gpu pool (Replace, on rhel-10) pinned back to rhel-9.
  const review = structuredClone(exampleRequest('nodepool-create.json').review);
  const old = review.request.object as { spec: Record<string, unknown>; status?: unknown };
  old.spec.management = { autoRepair: false, upgradeType: 'Replace' };
  old.status = { osImageStream: { name: 'rhel-10' } };
  const next = structuredClone(old);
  next.spec.osImageStream = { name: 'rhel-9' };
  review.request.uid = 'replace-downgrade';
  review.request.operation = 'UPDATE';
  review.request.object = next as Record<string, unknown>;
  review.request.oldObject = old as Record<string, unknown>;
  return JSON.stringify(review);
})();

let dir: string;
let policyPath: string;
let statePath: string;
let t: TestServer;

/** Replaces a file the way config management does: a complete new file renamed over it. */
async function replaceFile(path: string, text: string): Promise<void> {
  const tmp = join(dir, `.next-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  await writeFile(tmp, text);
  await rename(tmp, path);
}

async function answer(body: string): Promise<AdmissionResponseJson['response']> {
  const reply = await t.client.post('/validate', body);
  expect(reply.status).toBe(200);
  return (JSON.parse(reply.body) as AdmissionResponseJson).response;
}

/** A decision's gist: allowed, and the rule of each denial and warning. */
async function verdict(body: string): Promise<string> {
  const r = await answer(body);
  const rules = (lines: string[]) => lines.map((l) => /^\[([a-z-]+)\]/.exec(l)?.[1]).join(',');
  return `${r.allowed ? 'allowed' : 'denied'} deny=${rules(r.status?.message.split('\n') ?? [])} warn=${rules(r.warnings ?? [])}`;
}

async function counter(name: string, source: string): Promise<number> {
  return metric(await scrape(t.client), name, { source }) ?? 0;
}

const POLL = { timeout: 10_000, interval: 50 };

beforeAll(async () => {
  dir = await tempDir('streamguard-reload-');
  policyPath = join(dir, 'policy.yaml');
  statePath = join(dir, 'state');
  await writeFile(policyPath, `${HEADER}spec:\n  rules:\n    implicit-flip: warn\n`);
  await cp(EXAMPLE_STATE, statePath, { recursive: true });
  t = await startTestServer({ policyPath, statePath });
});
afterAll(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

describe('policy reload', () => {
  it('takes a changed policy without a restart', async () => {
    expect(await verdict(flip.text)).toBe('allowed deny= warn=implicit-flip');
    expect(await verdict(replaceDowngrade)).toBe('denied deny=no-downgrade warn=');
    const reloads = await counter('streamguard_reloads_total', 'policy');
    await replaceFile(
      policyPath,
      `${HEADER}spec:\n  rules:\n    implicit-flip: deny\n    no-downgrade: {inPlace: deny, replace: warn}\n`,
    );
    await expect.poll(() => verdict(flip.text), POLL).toBe('denied deny=implicit-flip warn=');
    expect(await verdict(replaceDowngrade)).toBe('allowed deny= warn=no-downgrade');
    expect(await counter('streamguard_reloads_total', 'policy')).toBeGreaterThan(reloads);
    expect(t.logs.lines().some((l) => l.msg === 'policy reloaded' && l.file === policyPath)).toBe(
      true,
    );
  });

  it.each([
    ['not YAML', `${HEADER}spec:\n  rules: [implicit-flip: warn\n`],
    ['not a valid StreamPolicy', `${HEADER}spec:\n  rules:\n    implicit-flip: sometimes\n`],
    ['empty', ''],
  ])('refuses a policy that is %s and keeps the last good one', async (_what, text) => {
    const failures = await counter('streamguard_reload_failures_total', 'policy');
    const refusals = t.logs
      .lines()
      .filter((l) => l.msg?.toString().startsWith('policy reload refused')).length;
    await replaceFile(policyPath, text);
    await expect
      .poll(() => counter('streamguard_reload_failures_total', 'policy'), POLL)
      .toBeGreaterThan(failures);
    const logged = t.logs
      .lines()
      .filter((l) => l.msg?.toString().startsWith('policy reload refused'));
    expect(logged.length).toBeGreaterThan(refusals);
    expect(logged.at(-1)).toMatchObject({ level: 50, file: policyPath, err: expect.any(String) });
    // Still the policy of the previous test.
    expect(await verdict(flip.text)).toBe('denied deny=implicit-flip warn=');
    expect(await verdict(replaceDowngrade)).toBe('allowed deny= warn=no-downgrade');
    expect(t.running.ready()).toBe(true);
  });

  it('refuses a removed policy file and keeps the last good policy', async () => {
    const failures = await counter('streamguard_reload_failures_total', 'policy');
    await rm(policyPath);
    await expect
      .poll(() => counter('streamguard_reload_failures_total', 'policy'), POLL)
      .toBeGreaterThan(failures);
    expect(await verdict(flip.text)).toBe('denied deny=implicit-flip warn=');
    expect(await verdict(replaceDowngrade)).toBe('allowed deny= warn=no-downgrade');
  });

  it('takes a good policy again after refusing broken ones', async () => {
    await replaceFile(policyPath, `${HEADER}spec:\n  rules:\n    implicit-flip: off\n`);
    await expect.poll(() => verdict(flip.text), POLL).toBe('allowed deny= warn=');
    // no-downgrade is back to the built-in deny for Replace pools.
    expect(await verdict(replaceDowngrade)).toBe('denied deny=no-downgrade warn=');
  });
});

describe('state reload', () => {
  const nodePools = () => join(statePath, 'nodepools.yaml');

  it('takes a changed state without a restart, and the old one back', async () => {
    // runc in workers-runtime downgrades workers-inplace, the pool that uses it…
    expect(await verdict(runc.text)).toBe('denied deny=no-downgrade warn=');
    const text = await readFile(nodePools(), 'utf8');
    const unlinked = text.replace(/\n\s+config:\n\s+- name: workers-runtime/, '');
    expect(unlinked).not.toBe(text);
    // …until the state says no pool uses that ConfigMap any more…
    await replaceFile(nodePools(), unlinked);
    await expect.poll(() => verdict(runc.text), POLL).toBe('allowed deny= warn=');
    const reloads = await counter('streamguard_reloads_total', 'state');
    expect(reloads).toBeGreaterThan(0);
    // …and again when it does.
    await replaceFile(nodePools(), text);
    await expect.poll(() => verdict(runc.text), POLL).toBe('denied deny=no-downgrade warn=');
    expect(await counter('streamguard_reloads_total', 'state')).toBeGreaterThan(reloads);
  });

  // Were a broken file skipped rather than the whole reload refused, workers-inplace would be
  // gone (or the state empty) and the ConfigMap change allowed.
  it.each([
    ['a file that is not YAML', 'nodepools.yaml', 'apiVersion: v1\nkind: List\nitems: [\n'],
    ['an added file that is not UTF-8', 'extra.yaml', Buffer.from([0x6b, 0x3a, 0x20, 0xff, 0xfe])],
    ['an object without a kind', 'nodepools.yaml', 'apiVersion: v1\nmetadata:\n  name: x\n'],
  ])('refuses a state with %s and keeps the last good one', async (_what, file, content) => {
    const path = join(statePath, file);
    const original = await readFile(path, 'utf8').catch(() => undefined);
    const failures = await counter('streamguard_reload_failures_total', 'state');
    if (typeof content === 'string') await replaceFile(path, content);
    else await writeFile(path, content);
    await expect
      .poll(() => counter('streamguard_reload_failures_total', 'state'), POLL)
      .toBeGreaterThan(failures);
    expect(t.logs.lines().at(-1)).toMatchObject({
      level: 50,
      msg: 'state reload refused; the last good state stays in force',
      dir: statePath,
    });
    expect(await verdict(runc.text)).toBe('denied deny=no-downgrade warn=');
    expect(t.running.ready()).toBe(true);

    // Put it right, so that the next case is refused for its own fault only.
    const reloads = await counter('streamguard_reloads_total', 'state');
    if (original === undefined) await rm(path);
    else await replaceFile(path, original);
    await expect
      .poll(() => counter('streamguard_reloads_total', 'state'), POLL)
      .toBeGreaterThan(reloads);
  });
});
