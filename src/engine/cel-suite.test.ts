// Upstream's own CRD test suite for NodePool osImageStream, run through the engine: every change
// CEL rejects, the engine rejects too; where the engine rejects more, the case says why.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { decide } from './decide.js';
import type { NodePool } from '../k8s/objects.js';
import { fixtureText, request, world } from '../../test/support/world.js';

interface SuiteCase {
  name: string;
  initial: string;
  updated?: string;
  expectedError?: string;
}

const suite = parse(fixtureText('hypershift-nodepools-osimagestream.testsuite.yaml')) as {
  tests: { onCreate: SuiteCase[]; onUpdate: SuiteCase[] };
};

/**
 * What the engine does beyond CEL, per case. The suite's release is 4.17.0-rc.0: CEL cannot see
 * versions, the engine can, and rhel-10 needs OCP >= 5.0 (HyperShift's GetRHELStream).
 */
const ENGINE_EXTRA: Record<string, { denies: string[]; why: string }> = {
  'When osImageStream.name is rhel-10 it should succeed': {
    denies: ['release-minimum'],
    why: 'rhel-10 on 4.17: HyperShift would set ValidMachineConfig=False after the object is stored',
  },
  'When changing osImageStream.name from rhel-9 to rhel-10 it should succeed': {
    denies: ['release-minimum'],
    why: 'rhel-10 on 4.17',
  },
  'When adding osImageStream to an existing NodePool it should succeed': {
    denies: ['release-minimum'],
    why: 'rhel-10 on 4.17',
  },
};

/** The rule that must carry CEL's rejection, and the upstream message it repeats. */
const CEL_RULE: Record<string, string> = {
  'spec.osImageStream.name: Unsupported value': 'known-stream',
  'OS stream downgrade from rhel-10 to rhel-9 is not allowed; create a new NodePool instead':
    'no-downgrade',
  'osImageStream cannot be removed once set; create a new NodePool instead': 'no-removal',
};

function pool(text: string): NodePool {
  const obj = parse(text) as NodePool;
  return { ...obj, metadata: { name: 'suite', namespace: 'clusters' } };
}

const cases = [
  ...suite.tests.onCreate.map((c) => ({ ...c, operation: 'CREATE' as const })),
  ...suite.tests.onUpdate.map((c) => ({ ...c, operation: 'UPDATE' as const })),
];

describe('upstream CEL suite for NodePool osImageStream', () => {
  it('has the cases we expect to run (the suite file is the upstream one)', () => {
    expect(cases.map((c) => c.name)).toHaveLength(7);
  });

  for (const c of cases) {
    it(c.name, () => {
      const req =
        c.operation === 'CREATE'
          ? request('CREATE', pool(c.initial))
          : request('UPDATE', pool(c.updated ?? ''), pool(c.initial));
      const decision = decide(req, world(), 'validate');
      const denied = decision.findings.filter((f) => f.severity === 'deny');
      if (c.expectedError) {
        const rule = Object.entries(CEL_RULE).find(([msg]) =>
          c.expectedError?.startsWith(msg),
        )?.[1];
        expect(rule, `no engine rule mapped for CEL error ${c.expectedError}`).toBeDefined();
        expect(decision.allowed).toBe(false);
        const finding = denied.find((f) => f.rule === rule);
        expect(finding).toBeDefined();
        if (rule !== 'known-stream') expect(finding?.message).toContain(c.expectedError);
      } else {
        const extra = ENGINE_EXTRA[c.name];
        expect(denied.map((f) => f.rule)).toEqual(extra?.denies ?? []);
        expect(decision.allowed).toBe(extra === undefined);
      }
    });
  }
});
