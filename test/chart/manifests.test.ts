// `streamguard manifests` prints the chart rendered by Helm's engine: the embedded text must be
// exactly today's render, every object valid, and nothing in it a Helm hook.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { MANIFEST_RENDER, plainManifests } from '../../src/cli/manifests.js';
import { runCli } from '../support/cli.js';
import { isBuiltinKind, k8sProblems } from './k8s-schemas.js';
import { REPO, render, type K8sObject } from './render.js';

const SOURCE = join(REPO, 'src/cli/manifests.ts');
const START = 'const RENDERED: readonly string[] = [\n';
const END = '];\n';

/** The TypeScript array body for a rendered stream: one quoted line per entry. */
function arrayBody(stream: string): string {
  const lines = stream.replace(/\n$/, '').split('\n');
  return lines.map((l) => `  ${JSON.stringify(l)},\n`).join('');
}

describe('streamguard manifests', () => {
  const { stream } = render({
    name: MANIFEST_RENDER.name,
    namespace: MANIFEST_RENDER.namespace,
    values: MANIFEST_RENDER.values,
  });

  it('embeds exactly the chart as rendered today', () => {
    if (process.env.STREAMGUARD_WRITE_MANIFESTS === '1') {
      const text = readFileSync(SOURCE, 'utf8');
      const start = text.indexOf(START) + START.length;
      const end = text.indexOf(END, start);
      writeFileSync(SOURCE, text.slice(0, start) + arrayBody(stream) + text.slice(end));
    }
    expect(
      plainManifests().endsWith(stream.replace(/\n$/, '')),
      process.env.STREAMGUARD_WRITE_MANIFESTS === '1'
        ? 'src/cli/manifests.ts was stale and is rewritten now: run the test again'
        : 'src/cli/manifests.ts is stale: STREAMGUARD_WRITE_MANIFESTS=1 npx vitest run test/chart/manifests.test.ts',
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
