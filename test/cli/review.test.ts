// `streamguard review`: the webhook's exact response for one AdmissionReview, from the real CLI.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastJsonPatch from 'fast-json-patch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAdmissionReviewBytes } from '../../src/admission/parse.js';
import {
  admissionResponse,
  WARNING_LIMIT,
  type AdmissionReviewResponse,
} from '../../src/admission/response.js';
import { decide, type Webhook } from '../../src/engine/decide.js';
import type { DecisionContext } from '../../src/engine/types.js';
import { defaultPolicy } from '../../src/policy/load.js';
import { loadState } from '../../src/state/load.js';
import { REPO_ROOT, runCli, type CliResult } from '../support/cli.js';

const STATE = 'examples/state';
const REQUESTS = 'examples/requests';
const EXAMPLES = readdirSync(join(REPO_ROOT, REQUESTS)).filter((f) => f.endsWith('.json'));

type Json = Record<string, unknown>;

function requestFile(name: string): Json {
  return JSON.parse(readFileSync(join(REPO_ROOT, REQUESTS, name), 'utf8')) as Json;
}

function uidOf(name: string): string {
  return (requestFile(name).request as { uid: string }).uid;
}

/** The response a successful review printed: exactly one line of compact JSON. */
function printed(result: CliResult): AdmissionReviewResponse['response'] {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout.endsWith('\n')).toBe(true);
  const line = result.stdout.slice(0, -1);
  expect(line).not.toContain('\n');
  const review = JSON.parse(line) as AdmissionReviewResponse;
  expect(JSON.stringify(review)).toBe(line);
  expect(review.apiVersion).toBe('admission.k8s.io/v1');
  expect(review.kind).toBe('AdmissionReview');
  return review.response;
}

function denialLines(response: AdmissionReviewResponse['response']): string[] {
  expect(response.allowed).toBe(false);
  expect(response.status?.code).toBe(403);
  return response.status?.message.split('\n') ?? [];
}

function decodedPatch(response: AdmissionReviewResponse['response']): fastJsonPatch.Operation[] {
  expect(response.patchType).toBe('JSONPatch');
  return JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString('utf8'));
}

function review(file: string, ...options: string[]): Promise<CliResult> {
  return runCli(['review', '--state', STATE, ...options, file]);
}

describe.concurrent('review of the example requests (validating webhook)', () => {
  // What the engine's rules say for each scenario of examples/requests over examples/state.
  const expectations: Record<string, (r: AdmissionReviewResponse['response']) => void> = {
    'nodepool-downgrade-inplace.json': (r) => {
      // workers-inplace runs rhel-10 (status) and is InPlace: an explicit rhel-9 is a downgrade.
      const lines = denialLines(r);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^\[no-downgrade\] .*rhel-10 to rhel-9/);
      expect(lines[0]).toContain('clusters/workers-inplace');
      expect(r.auditAnnotations).toEqual({ rules: 'no-downgrade' });
      expect(r).not.toHaveProperty('warnings');
      expect(r).not.toHaveProperty('patch');
    },
    'nodepool-scale.json': (r) => {
      // Only replicas change: nothing fires.
      expect(r).toEqual({ uid: uidOf('nodepool-scale.json'), allowed: true });
    },
    'nodepool-create.json': (r) => {
      // A new pool on 5.0 with crun: rhel-10 by default, boot image in us-east-1, all fine.
      expect(r).toEqual({ uid: uidOf('nodepool-create.json'), allowed: true });
    },
    'configmap-add-runc.json': (r) => {
      // runc in workers-runtime makes the release default rhel-9 for the pool that uses it.
      const lines = denialLines(r);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^\[no-downgrade\] NodePool clusters\/workers-inplace\b/);
      expect(lines[0]).toContain('ConfigMap clusters/workers-runtime');
      expect(lines[0]).toContain('runc');
      expect(r.auditAnnotations).toEqual({ rules: 'no-downgrade' });
    },
    'nodepool-release-flip.json': (r) => {
      // 4.21 → 5.0 without a stream: the default flips rhel-9 → rhel-10. Allowed, with a warning.
      expect(r.allowed).toBe(true);
      expect(r).not.toHaveProperty('status');
      expect(r.warnings).toHaveLength(1);
      const [warning = ''] = r.warnings ?? [];
      expect(warning).toMatch(/^\[implicit-flip\] .*rhel-9 → rhel-10/);
      expect(warning.length).toBeLessThanOrEqual(WARNING_LIMIT);
      expect(r.auditAnnotations).toEqual({ rules: 'implicit-flip' });
    },
  };

  it('has an expectation for every example request', () => {
    expect(Object.keys(expectations).sort()).toEqual([...EXAMPLES].sort());
  });

  it.each(EXAMPLES)('%s', async (name) => {
    const response = printed(await review(`${REQUESTS}/${name}`));
    expect(response.uid).toBe(uidOf(name));
    expectations[name]?.(response);
  });
});

describe.concurrent('review with --webhook mutate', () => {
  it('pins the release default into a NodePool created without a stream', async () => {
    const name = 'nodepool-create.json';
    const response = printed(await review(`${REQUESTS}/${name}`, '--webhook', 'mutate'));
    expect(response.allowed).toBe(true);
    const patch = decodedPatch(response);
    const object = (requestFile(name).request as { object: Json }).object;
    // The patch must apply to the object the API server holds, and give exactly this.
    expect(fastJsonPatch.validate(patch, object)).toBeUndefined();
    const patched = fastJsonPatch.applyPatch(structuredClone(object), patch).newDocument as {
      spec: Json;
      metadata: { annotations?: Record<string, string> };
    };
    expect(patched.spec.osImageStream).toEqual({ name: 'rhel-10' });
    expect(patched.metadata.annotations).toEqual({ 'streamguard.io/defaulted-stream': 'rhel-10' });
    const { osImageStream: _added, ...restSpec } = patched.spec;
    expect(restSpec).toEqual((object as { spec: Json }).spec);
    expect(response.warnings).toEqual([expect.stringMatching(/^\[pin-on-create\] .*rhel-10/)]);
    expect(response.auditAnnotations).toEqual({ rules: 'pin-on-create' });
  });

  it('never writes a default onto an existing NodePool (UPDATE), even when its stream flips', async () => {
    const response = printed(
      await review(`${REQUESTS}/nodepool-release-flip.json`, '--webhook', 'mutate'),
    );
    expect(response).toEqual({ uid: uidOf('nodepool-release-flip.json'), allowed: true });
  });

  it('never denies, even a change the validating webhook denies', async () => {
    const response = printed(
      await review(`${REQUESTS}/nodepool-downgrade-inplace.json`, '--webhook', 'mutate'),
    );
    expect(response.allowed).toBe(true);
    expect(response).not.toHaveProperty('status');
  });
});

describe.concurrent('review input', () => {
  it('reads the request from stdin with -', async () => {
    const file = `${REQUESTS}/nodepool-downgrade-inplace.json`;
    const [fromFile, fromStdin] = await Promise.all([
      review(file),
      runCli(['review', '--state', STATE, '-'], {
        stdin: readFileSync(join(REPO_ROOT, file)),
      }),
    ]);
    expect(denialLines(printed(fromStdin))[0]).toMatch(/^\[no-downgrade\] /);
    expect(fromStdin.stdout).toBe(fromFile.stdout);
  });

  const scale = readFileSync(join(REPO_ROOT, REQUESTS, 'nodepool-scale.json'), 'utf8');
  const policyDir = mkdtempSync(join(tmpdir(), 'streamguard-review-'));
  const relaxedRuntime = join(policyDir, 'runtime-warn.yaml');
  writeFileSync(
    relaxedRuntime,
    'apiVersion: streamguard.io/v1alpha1\nkind: StreamPolicy\nspec:\n  rules:\n    runtime: warn\n',
  );
  afterAll(() => rmSync(policyDir, { recursive: true, force: true }));

  const usageErrors: [string, string[], string | Buffer | undefined, RegExp][] = [
    [
      'a request file that does not exist',
      ['review', '--state', STATE, `${REQUESTS}/missing.json`],
      undefined,
      /^streamguard: error: examples\/requests\/missing\.json: cannot read\b.*ENOENT/m,
    ],
    [
      'a request that is not JSON',
      ['review', '--state', STATE, '-'],
      '{"apiVersion": "admission.k8s.io/v1",',
      /^streamguard: error: \(stdin\): not JSON: /m,
    ],
    [
      'an AdmissionReview v1beta1',
      ['review', '--state', STATE, '-'],
      scale.replace('"admission.k8s.io/v1"', '"admission.k8s.io/v1beta1"'),
      /\(stdin\): apiVersion: expected "admission\.k8s\.io\/v1", got "admission\.k8s\.io\/v1beta1" \(set admissionReviewVersions: \["v1"\]/,
    ],
    [
      'a request that is not UTF-8',
      ['review', '--state', STATE, '-'],
      Buffer.concat([Buffer.from(scale.slice(0, 40)), Buffer.from([0xff, 0xfe]), Buffer.from('}')]),
      /\(stdin\): not valid UTF-8/,
    ],
    [
      'an unknown --webhook',
      ['review', '--webhook', 'audit', `${REQUESTS}/nodepool-scale.json`],
      undefined,
      /--webhook <kind>' argument 'audit' is invalid\. Allowed choices are validate, mutate/,
    ],
    [
      'an unknown option',
      ['review', '--bogus', `${REQUESTS}/nodepool-scale.json`],
      undefined,
      /unknown option '--bogus'/,
    ],
    ['no request', ['review', '--state', STATE], undefined, /missing required argument 'request'/],
    [
      'a policy file the schema rejects',
      ['review', '--policy', relaxedRuntime, `${REQUESTS}/nodepool-scale.json`],
      undefined,
      /runtime-warn\.yaml: spec\.rules\.runtime: must be "deny"/,
    ],
    [
      'a policy file that does not exist',
      ['review', '--policy', join(policyDir, 'nope.yaml'), `${REQUESTS}/nodepool-scale.json`],
      undefined,
      /nope\.yaml: cannot read the policy file\b.*ENOENT/,
    ],
    [
      'a state directory that does not exist',
      ['review', '--state', 'examples/no-such-state', `${REQUESTS}/nodepool-scale.json`],
      undefined,
      /examples\/no-such-state: cannot read state directory: no such file or directory/,
    ],
  ];

  it.each(usageErrors)(
    'exits 2 with a message and prints no response: %s',
    async (_what, args, stdin, message) => {
      const result = await runCli(args, stdin === undefined ? {} : { stdin });
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
      // A usage error, not a crash: no stack trace.
      expect(result.stderr).not.toMatch(/^\s+at /m);
    },
  );
});

describe('review and the engine called directly give the same bytes', () => {
  // The contract the webhook relies on: it parses, decides and answers with these same functions.
  let context: DecisionContext;
  beforeAll(async () => {
    const state = await loadState(join(REPO_ROOT, STATE));
    context = { policy: defaultPolicy(), releases: state.releases, cluster: state.cluster };
  }, 30_000);

  const cases = EXAMPLES.flatMap((name) =>
    (['validate', 'mutate'] as Webhook[]).map((webhook) => [name, webhook] as const),
  );

  it.concurrent.each(cases)('%s (%s)', async (name, webhook) => {
    const file = `${REQUESTS}/${name}`;
    const result = await review(file, '--webhook', webhook);
    const request = parseAdmissionReviewBytes(readFileSync(join(REPO_ROOT, file)), file);
    const direct = admissionResponse(request.uid, decide(request, context, webhook));
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${JSON.stringify(direct)}\n`);
  });

  it('judges a ConfigMap whose data has a "__proto__" key, without polluting Object.prototype', async () => {
    const text = JSON.stringify(requestFile('configmap-add-runc.json')).replace(
      /"data":\{/g,
      '"data":{"__proto__":"{\\"polluted\\":\\"yes\\"}",',
    );
    const request = parseAdmissionReviewBytes(Buffer.from(text), 'cm.json');
    const direct = admissionResponse(request.uid, decide(request, context, 'validate'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The extra key changes nothing: runc is still added to workers-inplace's config.
    expect(direct.response.allowed).toBe(false);
    expect(direct.response.status?.message).toMatch(
      /^\[no-downgrade\] NodePool clusters\/workers-inplace/,
    );
    const result = await runCli(['review', '--state', STATE, '-'], { stdin: text });
    expect(result.stdout).toBe(`${JSON.stringify(direct)}\n`);
  });
});

describe.concurrent('exemptions through --as', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamguard-exempt-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const argocd = 'system:serviceaccount:openshift-gitops:argocd-application-controller';
  const policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    [
      'apiVersion: streamguard.io/v1alpha1',
      'kind: StreamPolicy',
      'spec:',
      '  exemptions:',
      // The request files' own user is allowed too: offline, only --as may vouch for a user.
      `    users: [alice, "${argocd}"]`,
      '    groups: [sre]',
      '',
    ].join('\n'),
  );

  /**
   * The gpu pool (Replace, no stream, nodes on rhel-10) pinned back to rhel-9: a Replace-pool
   * downgrade, which an allowed user may exempt. With upgradeType InPlace it may never be.
   */
  function downgrade(upgradeType: 'Replace' | 'InPlace'): string {
    const review = requestFile('nodepool-create.json');
    const request = review.request as Json & { object: Json & { spec: Json; metadata: Json } };
    const old = structuredClone(request.object);
    old.spec.management = { autoRepair: false, upgradeType };
    old.status = { osImageStream: { name: 'rhel-10' } };
    const next = structuredClone(old);
    next.spec.osImageStream = { name: 'rhel-9' };
    next.metadata.annotations = {
      'streamguard.io/exempt': 'no-downgrade',
      'streamguard.io/exempt-reason': 'GPU driver not yet on RHEL 10',
    };
    request.operation = 'UPDATE';
    request.object = next;
    request.oldObject = old;
    const file = join(dir, `downgrade-${upgradeType}.json`);
    writeFileSync(file, JSON.stringify(review));
    return file;
  }
  const replace = downgrade('Replace');
  const inPlace = downgrade('InPlace');

  const run = (file: string, ...as: string[]) =>
    runCli(['review', '--state', STATE, '--policy', policy, ...as, file]);

  it('honours the exemption for an allowed --as user', async () => {
    const response = printed(await run(replace, '--as', 'alice'));
    expect(response.allowed).toBe(true);
    expect(response.warnings).toEqual([
      expect.stringMatching(/^\[no-downgrade\] \(exempted\) /),
      expect.stringMatching(/^\[exemption\] exempt from no-downgrade by alice/),
    ]);
    expect(response.auditAnnotations).toEqual({ rules: 'no-downgrade,exemption' });
  });

  it('honours it for a user in an allowed --as-group', async () => {
    const response = printed(await run(replace, '--as', 'carol', '--as-group', 'sre'));
    expect(response.allowed).toBe(true);
  });

  it('does not honour it without --as, whatever userInfo the file claims', async () => {
    const response = printed(await run(replace));
    expect(denialLines(response)).toEqual([expect.stringMatching(/^\[no-downgrade\] /)]);
    expect(response.warnings).toEqual([expect.stringMatching(/^\[exemption\] .*ignored/)]);
  });

  it('does not honour it for a user the policy does not name', async () => {
    const response = printed(await run(replace, '--as', 'bob', '--as-group', 'dev'));
    expect(denialLines(response)).toEqual([expect.stringMatching(/^\[no-downgrade\] /)]);
  });

  it('does not honour it without a policy that allows exemptions', async () => {
    const result = await runCli(['review', '--state', STATE, '--as', 'alice', replace]);
    expect(printed(result).allowed).toBe(false);
  });

  it('never exempts an InPlace downgrade, even for an allowed user', async () => {
    const response = printed(await run(inPlace, '--as', 'alice'));
    expect(denialLines(response)).toEqual([
      expect.stringMatching(/^\[no-downgrade\] .*rhel-10 to rhel-9/),
    ]);
  });
});
