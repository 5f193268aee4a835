import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { defaultPolicy, parsePolicy, parsePolicyBytes, PolicyError } from './load.js';
import { CONFIGURABLE_RULES } from './types.js';

const HEAD = 'apiVersion: streamguard.io/v1alpha1\nkind: StreamPolicy\n';

function problems(text: string | Uint8Array, file = 'policy.yaml'): readonly string[] {
  try {
    if (typeof text === 'string') parsePolicy(text, file);
    else parsePolicyBytes(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return (error as PolicyError).problems;
  }
  throw new Error('expected a PolicyError');
}

describe('defaults', () => {
  it('policies/default.yaml parses and equals defaultPolicy()', () => {
    const url = new URL('../../policies/default.yaml', import.meta.url);
    const policy = parsePolicyBytes(readFileSync(url), 'policies/default.yaml');
    expect({ ...policy, source: '' }).toEqual({ ...defaultPolicy(), source: '' });
    expect(policy.source).toBe('policies/default.yaml');
  });

  it('follows the default-actions table', () => {
    const policy = defaultPolicy();
    expect(policy.actions).toEqual({
      'known-stream': 'deny',
      'release-minimum': 'deny',
      'boot-image': 'deny',
      'no-removal': 'deny',
      mirrored: 'deny',
      'inplace-rebase': 'warn',
      'implicit-flip': 'warn',
      'field-supported': 'warn',
      exemption: 'warn',
    });
    expect(policy).toMatchObject({
      source: 'built-in default',
      noDowngradeReplace: 'deny',
      rhel10Minimum: { major: 5, minor: 0, raw: '5.0' },
      onMissingContext: 'warn',
      pinOnCreate: true,
      disconnected: 'auto',
      exemptions: { users: [], groups: [] },
    });
  });

  it('fills every field of a minimal policy with the defaults', () => {
    expect({ ...parsePolicy(HEAD, 'p'), source: '' }).toEqual({ ...defaultPolicy(), source: '' });
    expect({ ...parsePolicy(`${HEAD}spec: {}\n`, 'p'), source: '' }).toEqual({
      ...defaultPolicy(),
      source: '',
    });
  });
});

describe('parsePolicy: settings', () => {
  it('reads every field', () => {
    const policy = parsePolicy(
      `${HEAD}metadata: {name: strict}
spec:
  rules: {implicit-flip: deny, mirrored: off, runtime: deny, no-downgrade: {inPlace: deny, replace: warn}}
  rhel10MinimumRelease: "5.12"
  onMissingContext: deny
  pinOnCreate: false
  disconnected: "true"
  exemptions: {users: [alice], groups: [sre]}
`,
      'strict.yaml',
    );
    expect(policy).toEqual({
      source: 'strict.yaml',
      actions: { ...defaultPolicy().actions, 'implicit-flip': 'deny', mirrored: 'off' },
      noDowngradeReplace: 'warn',
      rhel10Minimum: { major: 5, minor: 12, raw: '5.12' },
      onMissingContext: 'deny',
      pinOnCreate: false,
      disconnected: 'true',
      exemptions: { users: ['alice'], groups: ['sre'] },
    });
    expect(Object.isFrozen(policy.exemptions.users)).toBe(true);
  });

  it.each([
    ['true', 'true'],
    ['false', 'false'],
    ['"false"', 'false'],
    ['auto', 'auto'],
  ])('normalises disconnected: %s', (yaml, expected) => {
    expect(parsePolicy(`${HEAD}spec: {disconnected: ${yaml}}\n`, 'p').disconnected).toBe(expected);
  });

  it('reads an unquoted release as written (5.10 is not 5.1)', () => {
    const policy = parsePolicy(`${HEAD}spec: {rhel10MinimumRelease: 5.10}\n`, 'p');
    expect(policy.rhel10Minimum).toEqual({ major: 5, minor: 10, raw: '5.10' });
  });

  it('accepts a UTF-8 byte order mark', () => {
    expect(parsePolicyBytes(Buffer.from(`\uFEFF${HEAD}`), 'p').pinOnCreate).toBe(true);
  });
});

describe('parsePolicy: problems', () => {
  it('refuses to relax the runtime rule', () => {
    expect(problems(`${HEAD}spec: {rules: {runtime: warn}}\n`)).toEqual([
      'policy.yaml: spec.rules.runtime: must be "deny" (RHEL 10 ships no runc; this rule cannot be relaxed)',
    ]);
  });

  it('refuses to relax InPlace downgrades, and Replace below warn', () => {
    expect(
      problems(`${HEAD}spec: {rules: {no-downgrade: {inPlace: warn, replace: off}}}\n`),
    ).toEqual([
      'policy.yaml: spec.rules.no-downgrade.inPlace: must be "deny" (an InPlace pool cannot be rebased back from rhel-10; this rule cannot be relaxed)',
      'policy.yaml: spec.rules.no-downgrade.replace: must be deny or warn',
    ]);
  });

  it('rejects unknown rule ids, listing the known ones', () => {
    const [problem] = problems(`${HEAD}spec: {rules: {bogus: deny}}\n`);
    expect(problem).toMatch(/^policy\.yaml: spec\.rules\.bogus: unknown rule id; known: /);
    for (const id of [...CONFIGURABLE_RULES, 'runtime', 'no-downgrade'])
      expect(problem).toContain(id);
  });

  it('lists every problem at once', () => {
    expect(
      problems(`${HEAD}extra: 1
spec:
  rules: {mirrored: maybe}
  rhel10MinimumRelease: "5"
  onMissingContext: off
  pinOnCreate: "no"
  disconnected: yes
  exemptions: {users: alice, groups: [""], roles: []}
`),
    ).toEqual([
      'policy.yaml: extra: unknown field; known: apiVersion, kind, metadata, spec',
      'policy.yaml: spec.rules.mirrored: must be deny, warn or off',
      'policy.yaml: spec.rhel10MinimumRelease: must be a release MAJOR.MINOR such as "5.0"',
      'policy.yaml: spec.onMissingContext: must be deny or warn',
      'policy.yaml: spec.pinOnCreate: must be true or false',
      'policy.yaml: spec.disconnected: must be auto, true or false',
      'policy.yaml: spec.exemptions.roles: unknown field; known: users, groups',
      'policy.yaml: spec.exemptions.users: must be a list',
      'policy.yaml: spec.exemptions.groups[0]: must not be empty',
    ]);
  });

  it('requires apiVersion and kind', () => {
    expect(problems('kind: Policy\nspec: {}\n')).toEqual([
      'policy.yaml: apiVersion: is required (set it to "streamguard.io/v1alpha1")',
      'policy.yaml: kind: must be "StreamPolicy"',
    ]);
  });

  it('reports YAML syntax errors with line and column', () => {
    expect(problems(`${HEAD}spec:\n  rules: {runtime: deny\n`)).toEqual([
      expect.stringMatching(/^policy\.yaml:5:1: YAML syntax error: /),
    ]);
  });

  it('reports duplicate keys with their line and path', () => {
    expect(problems(`${HEAD}spec:\n  rules:\n    mirrored: off\n    mirrored: deny\n`)).toEqual([
      'policy.yaml:6:5: spec.rules.mirrored: duplicate key "mirrored"; each key may appear once',
    ]);
  });

  it('rejects __proto__ keys and does not pollute prototypes', () => {
    const text = `${HEAD}__proto__: {pinOnCreate: false}\nspec:\n  __proto__: {pinOnCreate: false}\n`;
    expect(problems(text)).toEqual([
      'policy.yaml:3:1: __proto__: "__proto__" is not allowed as a key',
      'policy.yaml:5:3: spec.__proto__: "__proto__" is not allowed as a key',
    ]);
    expect(({} as Record<string, unknown>).pinOnCreate).toBeUndefined();
  });

  it('rejects input that is not UTF-8', () => {
    const bytes = Buffer.concat([
      Buffer.from(`${HEAD}metadata: {name: caf`),
      Buffer.from([0xe9]),
      Buffer.from('}\n'),
    ]);
    expect(problems(bytes)).toEqual([
      `policy.yaml: is not valid UTF-8 (byte 0x7d at offset ${bytes.length - 2}, line 3); save it as UTF-8`,
    ]);
    expect(problems(Buffer.from([0xff, 0xfe, 0x61, 0x00]))).toEqual([
      'policy.yaml: is UTF-16 text; save it as UTF-8',
    ]);
    expect(problems(Buffer.from([0x61, 0xc3]))).toEqual([
      'policy.yaml: is not valid UTF-8 (truncated UTF-8 sequence at the end at offset 2, line 1); save it as UTF-8',
    ]);
  });

  it('rejects empty files, several documents, and documents that are not mappings', () => {
    expect(problems('# nothing\n')).toEqual([
      'policy.yaml: the file is empty; expected a StreamPolicy (apiVersion: streamguard.io/v1alpha1, kind: StreamPolicy)',
    ]);
    expect(problems(`${HEAD}---\n${HEAD}`)).toEqual([
      'policy.yaml: holds 2 YAML documents; a policy file holds one',
    ]);
    expect(problems('- a\n')).toEqual([
      'policy.yaml: expected a StreamPolicy mapping (apiVersion: streamguard.io/v1alpha1, kind: StreamPolicy), got a list',
    ]);
  });

  it('reports alias bombs instead of expanding them', () => {
    const lines = [HEAD.trim(), 'metadata:', '  a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `  a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    expect(problems(lines.join('\n'))).toEqual([expect.stringMatching(/^policy\.yaml: YAML: /)]);
  });
});

describe('parsePolicy properties', () => {
  const onlyPolicyErrors = (text: string) => {
    try {
      parsePolicy(text, 'p.yaml');
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      expect(error.problems.length).toBeGreaterThan(0);
      for (const p of error.problems) expect(p.startsWith('p.yaml')).toBe(true);
    }
  };

  it('throws nothing but PolicyError on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), onlyPolicyErrors));
  });

  it('throws nothing but PolicyError on arbitrary values dumped as YAML', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true }), (value) => {
        let text: string | undefined;
        try {
          text = stringify(value);
        } catch {
          return; // not every JS value can be written as YAML
        }
        if (text !== undefined) onlyPolicyErrors(text);
      }),
    );
  });

  it('throws nothing but PolicyError on policy-shaped values, and reads valid ones', () => {
    const any = fc.oneof(
      fc.anything(),
      fc.constantFrom('deny', 'warn', 'off', 'auto', '5.0', true),
    );
    const ruleIds = fc.constantFrom(
      ...CONFIGURABLE_RULES,
      'runtime',
      'no-downgrade',
      'bogus',
      '__proto__',
    );
    const spec = fc.record(
      {
        rules: fc.oneof(
          any,
          fc.dictionary(ruleIds, fc.oneof(any, fc.record({ inPlace: any, replace: any }))),
        ),
        rhel10MinimumRelease: any,
        onMissingContext: any,
        pinOnCreate: any,
        disconnected: any,
        exemptions: fc.oneof(any, fc.record({ users: any, groups: any }, { requiredKeys: [] })),
      },
      { requiredKeys: [] },
    );
    const doc = fc.record({
      apiVersion: fc.constantFrom('streamguard.io/v1alpha1', 'v1'),
      kind: fc.constant('StreamPolicy'),
      spec,
    });
    fc.assert(fc.property(doc, (value) => onlyPolicyErrors(stringify(value))));
  });
});
