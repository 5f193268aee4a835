// Upstream's own CRD test suites (the files openshift/api and HyperShift run against a real API
// server in envtest), run against this server over HTTP with the same steps as their harness:
// create `initial` (its status through the status subresource), update to `updated` (spec, then
// status), and expect `expectedError` / `expectedStatusError` or the `expected` object.
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upstreamText, UPSTREAM_CRDS } from './fixtures.js';
import { startKubeApi, type KubeApi, type KubeObject } from './server.js';
import { call, type Answer } from './support.js';

interface SuiteCase {
  name: string;
  initial: string;
  updated?: string;
  expected?: string;
  expectedError?: string;
  expectedStatusError?: string;
}

interface Suite {
  crdName: string;
  tests: { onCreate?: SuiteCase[]; onUpdate?: SuiteCase[] };
}

const SUITES = [
  'hypershift-nodepools-osimagestream.testsuite.yaml',
  'openshift-api-osimagestreams.testsuite.yaml',
];

let api: KubeApi;

beforeAll(async () => {
  api = await startKubeApi({
    crds: [...UPSTREAM_CRDS, 'openshift-api-osimagestreams.crd.yaml'].map(upstreamText),
    namespaces: ['default', 'suite'],
  });
});

afterAll(async () => {
  await api.close();
});

/** The collection path of an object, from discovery's answer for its group-version. */
async function collection(obj: KubeObject): Promise<string> {
  const gv = String(obj.apiVersion);
  const list = (await call(api, 'GET', `/apis/${gv}`)).body as {
    resources: { name: string; kind: string; namespaced: boolean }[];
  };
  const resource = list.resources.find((r) => r.kind === obj.kind && !r.name.includes('/'));
  if (!resource) throw new Error(`no resource for ${gv} ${String(obj.kind)}`);
  return `/apis/${gv}${resource.namespaced ? '/namespaces/suite' : ''}/${resource.name}`;
}

function message(answer: Answer): string {
  return String(answer.body.message ?? '');
}

function expectOk(answer: Answer, what: string): Record<string, unknown> {
  if (answer.code >= 300) throw new Error(`${what}: HTTP ${answer.code}: ${message(answer)}`);
  return answer.body;
}

/** Spec and status are what the suites' `expected` objects pin down. */
function content(obj: Record<string, unknown>): unknown {
  return { spec: obj.spec, status: obj.status };
}

async function runCase(c: SuiteCase, update: boolean): Promise<void> {
  const initial = parse(c.initial) as KubeObject;
  const { status: initialStatus, ...body } = initial;
  const meta = (body.metadata ?? {}) as Record<string, unknown>;
  if (meta.name === undefined) meta.generateName = 'test-';
  const path = await collection(initial);
  const created = await call(api, 'POST', path, { body: { ...body, metadata: meta } });
  if (!update && c.expectedError !== undefined) {
    expect(created.code).toBeGreaterThanOrEqual(400);
    expect(message(created)).toContain(c.expectedError);
    return;
  }
  let current = expectOk(created, 'create');
  const name = String((current.metadata as { name: string }).name);
  try {
    if (initialStatus !== undefined) {
      current = expectOk(
        await call(api, 'PUT', `${path}/${name}/status`, {
          body: { ...current, status: initialStatus },
        }),
        'initial status',
      );
    }
    if (update && c.updated !== undefined) {
      const updated = parse(c.updated) as KubeObject;
      const { status: updatedStatus, ...spec } = updated;
      const currentMeta = current.metadata as Record<string, unknown>;
      const updateMeta = {
        ...(spec.metadata as object),
        name,
        resourceVersion: currentMeta.resourceVersion,
        ...(currentMeta.namespace ? { namespace: currentMeta.namespace } : {}),
      };
      const res = await call(api, 'PUT', `${path}/${name}`, {
        body: { ...spec, metadata: updateMeta },
      });
      if (c.expectedError !== undefined) {
        expect(res.code, `update answered ${res.code}`).toBeGreaterThanOrEqual(400);
        expect(message(res)).toContain(c.expectedError);
        return;
      }
      current = expectOk(res, 'update');
      if (updatedStatus !== undefined) {
        const status = await call(api, 'PUT', `${path}/${name}/status`, {
          body: { ...current, status: updatedStatus },
        });
        if (c.expectedStatusError !== undefined) {
          expect(status.code, `status update answered ${status.code}`).toBeGreaterThanOrEqual(400);
          expect(message(status)).toContain(c.expectedStatusError);
          return;
        }
        current = expectOk(status, 'status update');
      }
    }
    expect(c.expectedStatusError, 'a status error was expected').toBeUndefined();
    expect(c.expectedError, 'an error was expected').toBeUndefined();
    if (c.expected !== undefined) {
      expect(content(current)).toEqual(content(parse(c.expected) as Record<string, unknown>));
    }
  } finally {
    // As the harness's AfterEach: every case starts without the objects of the others.
    await call(api, 'DELETE', `${path}/${name}`);
  }
}

for (const file of SUITES) {
  const suite = parse(upstreamText(file)) as Suite;
  describe(`${file} (${suite.crdName})`, () => {
    for (const c of suite.tests.onCreate ?? []) it(`onCreate: ${c.name}`, () => runCase(c, false));
    for (const c of suite.tests.onUpdate ?? []) it(`onUpdate: ${c.name}`, () => runCase(c, true));
  });
}

describe('the suites ran every rule', () => {
  it('skipped no CEL rule', () => {
    expect(api.skippedRules()).toEqual([]);
  });
});
