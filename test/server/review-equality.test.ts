// The webhook and `streamguard review` give the same bytes for the same request: every example
// request and every upstream CEL suite case, for both webhooks, under the built-in policy and a
// policy with exemptions (so that the identity both see matters).
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../src/cli/main.js';
import { runCli } from '../support/cli.js';
import { NODEPOOL_KIND, NODEPOOL_RESOURCE, osImageStreamSuite, R50 } from '../support/world.js';
import {
  EXAMPLE_STATE,
  exampleRequests,
  startTestServer,
  tempDir,
  type AdmissionReviewJson,
  type TestServer,
} from './support.js';

type Json = Record<string, unknown>;

interface CorpusEntry {
  name: string;
  text: string;
  user: { username?: string; groups?: string[] } | undefined;
}

function review(
  uid: string,
  operation: string,
  object: Json | null,
  oldObject: Json | null,
  user: { username: string; groups: string[] },
): AdmissionReviewJson {
  const meta = (object ?? oldObject)?.metadata as { name: string; namespace: string };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: NODEPOOL_KIND,
      resource: NODEPOOL_RESOURCE,
      requestKind: NODEPOOL_KIND,
      requestResource: NODEPOOL_RESOURCE,
      name: meta.name,
      namespace: meta.namespace,
      operation,
      userInfo: user,
      object,
      oldObject,
      dryRun: false,
    },
  };
}

/** Upstream's CRD test suite for osImageStream, as the API server would send each case. */
function suiteCorpus(): CorpusEntry[] {
  const cases = osImageStreamSuite();
  const user = {
    username: 'kube:admin',
    groups: ['system:cluster-admins', 'system:authenticated'],
  };
  const entries: CorpusEntry[] = [];
  cases.forEach((c, i) => {
    // As written (release 4.17, a cluster the state does not know), and moved onto the example
    // cluster at 5.0 so that the state's HostedCluster and release data come into play.
    for (const onExample of [false, true]) {
      const pool = (text: string): Json => {
        const obj = parse(text) as Json & { spec: Json };
        if (onExample) obj.spec = { ...obj.spec, clusterName: 'example', release: { image: R50 } };
        return { ...obj, metadata: { name: `suite-${i}`, namespace: 'clusters' } };
      };
      const object = c.operation === 'CREATE' ? pool(c.initial) : pool(c.updated ?? '');
      const oldObject = c.operation === 'CREATE' ? null : pool(c.initial);
      const uid = `cel-suite-${i}${onExample ? '-example' : ''}`;
      entries.push({
        name: `${c.name}${onExample ? ' (example cluster, 5.0)' : ''}`,
        text: JSON.stringify(review(uid, c.operation, object, oldObject, user)),
        user,
      });
    }
  });
  return entries;
}

/** A Replace pool pinned back to rhel-9 with an exemption annotation, from several users. */
function exemptionCorpus(): CorpusEntry[] {
  const create = exampleRequests().find((e) => e.file === 'nodepool-create.json');
  const base = create?.review.request.object as Json & { spec: Json; metadata: Json };
  const entries: CorpusEntry[] = [];
  for (const upgradeType of ['Replace', 'InPlace']) {
    const old = structuredClone(base);
    old.spec.management = { autoRepair: false, upgradeType };
    old.status = { osImageStream: { name: 'rhel-10' } };
    const next = structuredClone(old);
    next.spec.osImageStream = { name: 'rhel-9' };
    next.metadata.annotations = {
      'streamguard.io/exempt': 'no-downgrade',
      'streamguard.io/exempt-reason': 'GPU driver not yet on RHEL 10',
    };
    for (const user of [
      { username: 'alice', groups: ['system:authenticated'] },
      { username: 'carol', groups: ['dev', 'sre', 'system:authenticated'] },
      { username: 'bob', groups: ['dev'] },
      { username: 'dave', groups: [] },
    ]) {
      const uid = `exempt-${upgradeType}-${user.username}`;
      entries.push({
        name: `${upgradeType} downgrade with exemption by ${user.username}`,
        text: JSON.stringify(review(uid, 'UPDATE', next, old, user)),
        user,
      });
    }
  }
  return entries;
}

const CORPUS: CorpusEntry[] = [
  ...exampleRequests().map((e) => ({
    name: e.file,
    text: e.text,
    user: e.review.request.userInfo,
  })),
  ...suiteCorpus(),
  ...exemptionCorpus(),
];

function identityArgs(user: CorpusEntry['user']): string[] {
  if (user?.username === undefined) return [];
  return ['--as', user.username, ...(user.groups ?? []).flatMap((g) => ['--as-group', g])];
}

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** `streamguard review` in this process, through the same main() the bin runs. */
async function reviewInProcess(args: string[]): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const capture =
    (append: (s: string) => void) =>
    (chunk: string | Uint8Array): boolean => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    };
  const out = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation(capture((s) => (stdout += s)) as typeof process.stdout.write);
  const err = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation(capture((s) => (stderr += s)) as typeof process.stderr.write);
  try {
    const code = await main(['node', 'streamguard', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

let dir: string;
let policyPath: string;
const files = new Map<string, string>();
beforeAll(async () => {
  dir = await tempDir('streamguard-equality-');
  policyPath = join(dir, 'exemptions.yaml');
  await writeFile(
    policyPath,
    'apiVersion: streamguard.io/v1alpha1\nkind: StreamPolicy\nspec:\n  exemptions:\n    users: [alice]\n    groups: [sre]\n',
  );
  await Promise.all(
    CORPUS.map(async (entry, i) => {
      const file = join(dir, `request-${i}.json`);
      await writeFile(file, entry.text);
      files.set(entry.name, file);
    }),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it('has a corpus of every example and every upstream suite case', () => {
  expect(CORPUS.filter((e) => e.name.endsWith('.json'))).toHaveLength(5);
  expect(CORPUS.filter((e) => /^When /.test(e.name))).toHaveLength(14);
  expect(new Set(CORPUS.map((e) => e.name)).size).toBe(CORPUS.length);
});

const POLICIES = [
  ['the built-in policy', undefined],
  ['a policy with exemptions', 'exemptions'],
] as const;

describe.each(POLICIES)('webhook = review, under %s', (_label, policy) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(policy ? { policyPath } : {});
  });
  afterAll(() => t.close());

  for (const webhook of ['validate', 'mutate'] as const) {
    it(`/${webhook}: every request gets review's bytes`, async () => {
      // All webhook answers first (a few at a time), then the reviews one by one: the in-process
      // review owns process.stdout while it runs.
      const answers = new Map<string, string>();
      for (let i = 0; i < CORPUS.length; i += 4) {
        await Promise.all(
          CORPUS.slice(i, i + 4).map(async (entry) => {
            const reply = await t.client.post(`/${webhook}`, entry.text);
            expect(reply.status, entry.name).toBe(200);
            answers.set(entry.name, reply.body);
          }),
        );
      }
      const outcomes = new Set<string>();
      for (const entry of CORPUS) {
        const result = await reviewInProcess([
          'review',
          '--state',
          EXAMPLE_STATE,
          ...(policy ? ['--policy', policyPath] : []),
          '--webhook',
          webhook,
          ...identityArgs(entry.user),
          files.get(entry.name) ?? '',
        ]);
        expect(result.stderr, entry.name).toBe('');
        expect(result.code, entry.name).toBe(0);
        expect(result.stdout.endsWith('\n'), entry.name).toBe(true);
        expect(answers.get(entry.name), entry.name).toBe(result.stdout.slice(0, -1));
        const response = (JSON.parse(result.stdout) as { response: Json }).response;
        outcomes.add(response.allowed ? (response.warnings ? 'warned' : 'allowed') : 'denied');
      }
      // The corpus exercises every kind of answer, so the equality is not between empty shells.
      expect([...outcomes].sort()).toEqual(
        webhook === 'validate' ? ['allowed', 'denied', 'warned'] : ['allowed', 'warned'],
      );
    });
  }

  if (policy) {
    it('honours an exemption for the allowed identity only (both sides saw the same user)', async () => {
      const allowed = (name: string) =>
        t.client
          .post('/validate', CORPUS.find((e) => e.name === name)?.text ?? '')
          .then((r) => (JSON.parse(r.body) as { response: { allowed: boolean } }).response.allowed);
      expect(await allowed('Replace downgrade with exemption by alice')).toBe(true);
      expect(await allowed('Replace downgrade with exemption by carol')).toBe(true);
      expect(await allowed('Replace downgrade with exemption by bob')).toBe(false);
      expect(await allowed('InPlace downgrade with exemption by alice')).toBe(false);
    });
  }
});

// The in-process review above is the CLI's main(); this checks it against the real spawned CLI.
describe('the spawned CLI prints what the in-process review printed', () => {
  const sample = [
    CORPUS.find((e) => e.name === 'nodepool-downgrade-inplace.json'),
    CORPUS.find((e) => e.name === 'Replace downgrade with exemption by carol'),
  ];
  it.each(sample.map((e) => [e?.name ?? '', e] as const))('%s', async (_name, entry) => {
    const args = [
      'review',
      '--state',
      EXAMPLE_STATE,
      '--policy',
      policyPath,
      '--webhook',
      'validate',
      ...identityArgs(entry?.user),
      files.get(entry?.name ?? '') ?? '',
    ];
    const spawned = await runCli(args);
    const inProcess = await reviewInProcess(args);
    expect(spawned).toEqual({ code: 0, stdout: inProcess.stdout, stderr: '' });
  });
});
