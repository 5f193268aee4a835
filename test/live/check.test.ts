// `streamguard check --kubeconfig` from the real CLI against the local API server: old objects and
// context come from the cluster, the batch is judged as one, and the exit codes are those of
// the offline check (0 allowed, 1 denied) plus 3 when the cluster cannot be read.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeApi } from '../kube-api/server.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { exampleState, loopbackImages, startClusterApi } from './support.js';

interface JsonReport {
  summary: { checked: number; denied: number; exitCode: number };
  results: {
    source: string;
    name: string;
    operation: string;
    oldFrom: string;
    allowed: boolean;
    findings: { rule: string; severity: string; message: string }[];
  }[];
}

const CLUSTER = [
  ...exampleState('hostedcluster.yaml'),
  ...exampleState('nodepools.yaml'),
  ...exampleState('configmaps.yaml'),
];

let api: KubeApi;
let dir: string;
let gitops: string;
let state: string;

beforeAll(async () => {
  api = await startClusterApi(CLUSTER);
  dir = mkdtempSync(join(tmpdir(), 'streamguard-live-check-'));
  // examples/gitops with its images on loopback, and the same cluster as an offline state.
  gitops = join(dir, 'gitops');
  mkdirSync(gitops);
  for (const file of readdirSync(join(REPO_ROOT, 'examples/gitops'))) {
    const text = readFileSync(join(REPO_ROOT, 'examples/gitops', file), 'utf8');
    writeFileSync(join(gitops, file), loopbackImages(text));
  }
  state = join(dir, 'state');
  mkdirSync(state);
  writeFileSync(join(state, 'cluster.yaml'), CLUSTER.map((o) => stringify(o)).join('---\n'));
});

afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('check --kubeconfig', () => {
  it('judges the batch against the live cluster exactly as against the same state offline', async () => {
    const live = await runCli(['check', '--kubeconfig', api.kubeconfigPath, '-o', 'json', gitops]);
    expect(live.stderr).toBe('');
    expect(live.code).toBe(1);
    const offline = await runCli(['check', '--state', state, '-o', 'json', gitops]);
    expect(offline.code).toBe(1);
    const liveReport = JSON.parse(live.stdout) as JsonReport;
    const offlineReport = JSON.parse(offline.stdout) as JsonReport;
    expect(liveReport.summary).toEqual(offlineReport.summary);
    expect(liveReport.summary).toMatchObject({ checked: 4, denied: 2, exitCode: 1 });
    // The same results, the old objects said to come from the cluster instead of the state.
    const asOffline = liveReport.results.map((r) => ({
      ...r,
      oldFrom: r.oldFrom === 'cluster' ? 'state' : r.oldFrom,
    }));
    expect(asOffline).toEqual(offlineReport.results);
    const inplace = liveReport.results.find((r) => r.name === 'workers-inplace');
    expect(inplace).toMatchObject({ operation: 'UPDATE', oldFrom: 'cluster', allowed: false });
    expect(inplace?.findings.map((f) => f.rule)).toContain('no-downgrade');
  });

  it('exits 0 when every pool of the batch is allowed', async () => {
    const result = await runCli([
      'check',
      '--kubeconfig',
      api.kubeconfigPath,
      join(gitops, 'gpu.yaml'),
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('NodePool clusters/gpu CREATE (new): allowed');
  });

  it('exits 3 naming the server when the cluster refuses the token, and never prints it', async () => {
    const wrong = join(dir, 'wrong-token');
    writeFileSync(wrong, api.kubeconfig.replace(api.token, 'not-the-token'));
    const result = await runCli(['check', '--kubeconfig', wrong, gitops]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`cluster ${api.url}: list `);
    expect(result.stderr).toContain('HTTP 401');
    expect(result.stderr).not.toContain(api.token);
    expect(result.stderr).not.toContain('not-the-token');
  });

  it('exits 3 when nothing answers at the server, and 2 for a kubeconfig that cannot be used', async () => {
    const gone = await startClusterApi();
    const kubeconfig = join(dir, 'gone');
    writeFileSync(kubeconfig, gone.kubeconfig);
    await gone.close();
    const down = await runCli(['check', '--kubeconfig', kubeconfig, gitops]);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`cluster ${gone.url}: list `);
    expect(down.stderr).toContain('ECONNREFUSED');
    expect(down.stderr).not.toContain(gone.token);

    const missing = await runCli(['check', '--kubeconfig', join(dir, 'nope'), gitops]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope: cannot read: no such file');
    const both = await runCli(['check', '--kubeconfig', kubeconfig, '--state', state, gitops]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('not both');
  });
});
