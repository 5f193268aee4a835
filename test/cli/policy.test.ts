// `streamguard policy validate`, --help and --version, from the real CLI.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../src/policy/load.js';
import { REPO_ROOT, runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'streamguard-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function policyFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The effective policy printed after the `FILE: valid StreamPolicy` line. */
function effective(stdout: string, file: string): unknown {
  const [first, ...rest] = stdout.split('\n');
  expect(first).toBe(`${file}: valid StreamPolicy`);
  return JSON.parse(rest.join('\n'));
}

const HEADER = 'apiVersion: streamguard.io/v1alpha1\nkind: StreamPolicy\n';

describe.concurrent('policy validate', () => {
  it('accepts the shipped policy, whose effective settings are the built-in defaults', async () => {
    const result = await runCli(['policy', 'validate', 'policies/default.yaml']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { source: _source, ...builtIn } = defaultPolicy();
    expect(effective(result.stdout, 'policies/default.yaml')).toEqual(
      JSON.parse(JSON.stringify(builtIn)),
    );
  });

  it('prints the effective policy of a partial file, with the defaults filled in', async () => {
    const file = policyFile(
      'partial.yaml',
      `${HEADER}spec:\n  rules:\n    implicit-flip: deny\n    no-downgrade:\n      replace: warn\n  rhel10MinimumRelease: 5.10\n  exemptions:\n    groups: [sre]\n`,
    );
    const result = await runCli(['policy', 'validate', file]);
    expect(result.code).toBe(0);
    const policy = effective(result.stdout, file) as ReturnType<typeof defaultPolicy>;
    const defaults = defaultPolicy();
    expect(policy.actions).toEqual({ ...defaults.actions, 'implicit-flip': 'deny' });
    expect(policy.noDowngradeReplace).toBe('warn');
    // Unquoted 5.10 is the YAML number 5.1; the policy means what was written.
    expect(policy.rhel10Minimum).toEqual({ major: 5, minor: 10, raw: '5.10' });
    expect(policy.exemptions).toEqual({ users: [], groups: ['sre'] });
    expect(policy.onMissingContext).toBe(defaults.onMissingContext);
    expect(policy.pinOnCreate).toBe(true);
  });

  it('reports every problem of an invalid file as FILE: PATH: what is expected, and exits 2', async () => {
    const file = policyFile(
      'invalid.yaml',
      [
        HEADER.trimEnd(),
        'spec:',
        '  rules:',
        '    runtime: warn',
        '    implicit-flip: maybe',
        '    no-downgrade:',
        '      inPlace: warn',
        '  onMissingContext: allow',
        '  colour: blue',
        '  exemptions:',
        '    users: [""]',
        '',
      ].join('\n'),
    );
    const result = await runCli(['policy', 'validate', file]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]?.startsWith('streamguard: error: ')).toBe(true);
    const problems = lines.map((l) => l.replace(/^streamguard: error: /, ''));
    for (const p of problems) expect(p.startsWith(`${file}: `)).toBe(true);
    const paths = problems.map((p) => p.slice(file.length + 2).split(': ')[0]).sort();
    expect(paths).toEqual([
      'spec.colour',
      'spec.exemptions.users[0]',
      'spec.onMissingContext',
      'spec.rules.implicit-flip',
      'spec.rules.no-downgrade.inPlace',
      'spec.rules.runtime',
    ]);
    expect(result.stderr).toContain(`${file}: spec.rules.runtime: must be "deny"`);
  });

  it.each([
    [
      'a YAML syntax error',
      `${HEADER}spec:\n  rules: [\n`,
      (f: string) => `${f}:5:1: YAML syntax error`,
    ],
    [
      'a file that is not a policy',
      'apiVersion: v1\nkind: ConfigMap\n',
      (f: string) => `${f}: kind: must be "StreamPolicy"`,
    ],
    ['an empty file', '', (f: string) => `${f}: the file is empty`],
  ])('exits 2 for %s', async (name, text, message) => {
    const file = policyFile(`${name.replace(/\W+/g, '-')}.yaml`, text);
    const result = await runCli(['policy', 'validate', file]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message(file));
  });

  it('exits 2 for a file that does not exist', async () => {
    const result = await runCli(['policy', 'validate', join(dir, 'missing.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(dir, 'missing.yaml')}: cannot read the policy file`);
  });

  it('exits 2 without a file', async () => {
    const result = await runCli(['policy', 'validate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/missing required argument 'file'/);
  });
});

describe.concurrent('help and version', () => {
  it('lists the commands and the exit codes in the top-level help', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: streamguard /);
    for (const command of ['review', 'check', 'policy']) {
      expect(result.stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'));
    }
    const exitCodes = result.stdout
      .slice(result.stdout.indexOf('Exit codes:'))
      .replace(/\s+/g, ' ');
    expect(exitCodes).toMatch(
      /^Exit codes: 0 allowed, 1 denied \(or warned with --fail-on-warn\), 2 usage or input error, 3 external failure/,
    );
  });

  it.each([
    [
      ['review', '--help'],
      'review [options] <request>',
      ['--webhook', '--state', '--policy', '--as'],
    ],
    [
      ['check', '--help'],
      'check [options] <path...>',
      ['--base-ref', '--output', '--fail-on-warn', '-n, --namespace'],
    ],
    [['policy', '--help'], 'policy [options] [command]', ['validate']],
    [['policy', 'validate', '--help'], 'policy validate [options] <file>', ['<file>']],
    [['help', 'check'], 'check [options] <path...>', ['--base-ref']],
  ])('%j exits 0 with the usage of the command', async (args, usage, mentions) => {
    const result = await runCli(args);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')[0]).toBe(`Usage: streamguard ${usage}`);
    for (const m of mentions) expect(result.stdout).toContain(m);
  });

  it.each([['--version'], ['-V']])('%s prints the package version', async (flag) => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const result = await runCli([flag]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
  });

  it('exits 2 for an unknown command', async () => {
    const result = await runCli(['serve-forever']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'serve-forever'/);
  });
});
