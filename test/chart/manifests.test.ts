// `streamguard manifests` prints the chart rendered by Helm's engine: the embedded text must be
// exactly today's render, every object valid, and nothing in it a Helm hook.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { MANIFEST_RENDER, plainManifests, RENDERED_FILE } from '../../src/cli/manifests.js';
import { runCli } from '../support/cli.js';
import { isBuiltinKind, k8sProblems } from './k8s-schemas.js';
import { render, type K8sObject } from './render.js';

describe('streamguard manifests', () => {
  const { stream } = render({
    name: MANIFEST_RENDER.name,
    namespace: MANIFEST_RENDER.namespace,
    values: MANIFEST_RENDER.values,
  });

  it('ships exactly the chart as rendered today', () => {
    if (process.env.STREAMGUARD_WRITE_MANIFESTS === '1') writeFileSync(RENDERED_FILE, stream);
    expect(
      readFileSync(RENDERED_FILE, 'utf8') === stream,
      process.env.STREAMGUARD_WRITE_MANIFESTS === '1'
        ? 'data/manifests/streamguard.yaml was stale and is rewritten now: run the test again'
        : 'data/manifests/streamguard.yaml is stale: STREAMGUARD_WRITE_MANIFESTS=1 npx vitest run test/chart/manifests.test.ts',
    ).toBe(true);
  });

  it('prints valid objects with their namespace first, and no Helm hooks', () => {
    const objects = parseAllDocuments(plainManifests()).map((d) => d.toJS() as K8sObject);
    expect(objects[0]).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: MANIFEST_RENDER.namespace },
    });
    expect(objects.filter(isBuiltinKind).flatMap(k8sProblems)).toEqual([]);
    expect(objects.filter((o) => o.metadata.annotations?.['helm.sh/hook'])).toEqual([]);
    expect(objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining([
        'Deployment',
        'ValidatingWebhookConfiguration',
        'MutatingWebhookConfiguration',
      ]),
    );
  });

  it('is what the command prints', async () => {
    const r = await runCli(['manifests']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(plainManifests());
  });
});
