// `streamguard check`: the GitOps pre-merge check, from the real CLI.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from '../support/cli.js';

const STATE = 'examples/state';
const STATE_ABS = join(REPO_ROOT, STATE);
const GITOPS = 'examples/gitops';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const example = (name: string) => readFileSync(join(REPO_ROOT, GITOPS, name), 'utf8');

interface TextResult {
  header: string;
  findings: string[];
}

/** The text report as `NodePool namespace/name` → its header line and finding lines. */
function textReport(stdout: string): { pools: Map<string, TextResult>; summary: string } {
  const lines = stdout.split('\n');
  expect(lines.pop()).toBe('');
  const summary = lines.pop() ?? '';
  const pools = new Map<string, TextResult>();
  let current: TextResult | undefined;
  for (const line of lines) {
    if (line.startsWith('  ')) {
      expect(current).toBeDefined();
      current?.findings.push(line.trim());
      continue;
    }
    const pool = /: NodePool (\S+) /.exec(line)?.[1];
    expect(pool, line).toBeDefined();
    current = { header: line, findings: [] };
    pools.set(pool ?? '', current);
  }
  return { pools, summary };
}

/** `LABEL [rule]` of each finding line, to compare without the full messages. */
const labels = (r: TextResult | undefined) =>
  (r?.findings ?? []).map((f) => /^(\w+ \[[a-z-]+\])/.exec(f)?.[1]);

interface JsonReport {
  apiVersion: string;
  kind: string;
  summary: { checked: number; denied: number; warned: number; clean: number; exitCode: number };
  results: {
    source: string;
    namespace: string;
    name: string;
    operation: string;
    oldFrom: string;
    via?: string;
    allowed: boolean;
    findings: { rule: string; severity: string; message: string }[];
  }[];
}

describe.concurrent('check of examples/gitops over examples/state', () => {
  it('reports every pool in text and exits 1 because two are denied', async () => {
    const result = await runCli(['check', '--state', STATE, GITOPS]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    const { pools, summary } = textReport(result.stdout);
    expect([...pools.keys()]).toEqual([
      'clusters/batch',
      'clusters/gpu',
      'clusters/workers-inplace',
      'clusters/workers-legacy',
    ]);

    const batch = pools.get('clusters/batch');
    expect(batch?.header).toBe(
      'examples/gitops/batch.yaml#2: NodePool clusters/batch CREATE (new): denied',
    );
    expect(labels(batch)).toEqual(['DENY [runtime]']);

    const inplace = pools.get('clusters/workers-inplace');
    expect(inplace?.header).toBe(
      'examples/gitops/workers-inplace.yaml: NodePool clusters/workers-inplace UPDATE (old object from state): denied',
    );
    expect(labels(inplace)).toEqual(['DENY [no-downgrade]']);

    const legacy = pools.get('clusters/workers-legacy');
    expect(legacy?.header).toMatch(/UPDATE \(old object from state\): allowed with warnings$/);
    expect(labels(legacy)).toEqual(['WARN [implicit-flip]']);

    const gpu = pools.get('clusters/gpu');
    // A mutation the API server would apply is shown, and is no warning.
    expect(gpu?.header).toMatch(/NodePool clusters\/gpu CREATE \(new\): allowed$/);
    expect(labels(gpu)).toEqual(['MUTATE [pin-on-create]']);
    expect(gpu?.findings[0]).toContain('rhel-10');

    expect(summary).toBe('4 NodePools checked: 2 denied, 1 with warnings, 1 clean');
  });

  it('gives the same verdicts as JSON, with summary counts that match the results', async () => {
    const result = await runCli(['check', '--state', STATE, '-o', 'json', GITOPS]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(report.apiVersion).toBe('streamguard.io/v1alpha1');
    expect(report.kind).toBe('CheckReport');
    expect(report.summary).toEqual({ checked: 4, denied: 2, warned: 1, clean: 1, exitCode: 1 });

    const byName = new Map(report.results.map((r) => [r.name, r]));
    const verdicts = report.results.map((r) => [
      r.name,
      r.allowed,
      r.findings.map((f) => `${f.severity}:${f.rule}`),
    ]);
    expect(verdicts).toEqual([
      ['batch', false, ['deny:runtime']],
      ['gpu', true, ['mutate:pin-on-create']],
      ['workers-inplace', false, ['deny:no-downgrade']],
      ['workers-legacy', true, ['warn:implicit-flip']],
    ]);
    // The summary is a count of the results, not a separate claim.
    const denied = report.results.filter((r) => !r.allowed).length;
    const warned = report.results.filter(
      (r) => r.allowed && r.findings.some((f) => f.severity === 'warn'),
    ).length;
    expect(report.summary.denied).toBe(denied);
    expect(report.summary.warned).toBe(warned);
    expect(report.summary.clean).toBe(report.results.length - denied - warned);
    expect(byName.get('workers-inplace')).toMatchObject({ operation: 'UPDATE', oldFrom: 'state' });
    expect(byName.get('gpu')).toMatchObject({ operation: 'CREATE', oldFrom: 'none' });
  });

  it('writes well-formed JUnit XML with one failure per denied pool', async () => {
    const [junit, json] = await Promise.all([
      runCli(['check', '--state', STATE, '-o', 'junit', GITOPS]),
      runCli(['check', '--state', STATE, '-o', 'json', GITOPS]),
    ]);
    expect(junit.code).toBe(1);
    const root = parseXml(junit.stdout);
    expect(root.name).toBe('testsuites');
    expect(root.attributes).toMatchObject({ tests: '4', failures: '2', errors: '0' });

    const suites = root.children.filter((c) => c.name === 'testsuite');
    expect(suites.map((s) => s.attributes.name)).toEqual([
      'examples/gitops/batch.yaml',
      'examples/gitops/gpu.yaml',
      'examples/gitops/workers-inplace.yaml',
      'examples/gitops/workers-legacy.yaml',
    ]);
    const cases = suites.flatMap((s) => s.children.filter((c) => c.name === 'testcase'));
    expect(cases).toHaveLength(4);
    for (const suite of suites) {
      const failed = suite.children.filter((c) => c.children.some((x) => x.name === 'failure'));
      expect(suite.attributes.failures).toBe(String(failed.length));
      expect(suite.attributes.tests).toBe(String(suite.children.length));
    }
    const failures = cases.flatMap((c) => c.children.filter((x) => x.name === 'failure'));
    expect(failures).toHaveLength(2);
    expect(failures.map((f) => f.attributes.type)).toEqual(['denied', 'denied']);
    const failing = cases.filter((c) => c.children.some((x) => x.name === 'failure'));
    expect(failing.map((c) => c.attributes.name)).toEqual([
      'NodePool clusters/batch CREATE',
      'NodePool clusters/workers-inplace UPDATE',
    ]);

    // Escaped text reads back as the message itself (batch's holds double quotes).
    const report = JSON.parse(json.stdout) as JsonReport;
    const batchMessage = report.results[0]?.findings[0]?.message ?? '';
    expect(batchMessage).toContain('"');
    expect(failures[0]?.text).toBe(`DENY [runtime] ${batchMessage}`);
    expect(junit.stdout).toContain('&quot;');
  });

  it('fails a pool on a warning in JUnit too with --fail-on-warn, but never on a mutation', async () => {
    const result = await runCli([
      'check',
      '--state',
      STATE,
      '-o',
      'junit',
      '--fail-on-warn',
      GITOPS,
    ]);
    expect(result.code).toBe(1);
    const root = parseXml(result.stdout);
    expect(root.attributes.failures).toBe('3');
    const types = root.children
      .flatMap((s) => s.children)
      .map((c) => [
        c.attributes.name,
        c.children.find((x) => x.name === 'failure')?.attributes.type,
      ]);
    expect(types).toEqual([
      ['NodePool clusters/batch CREATE', 'denied'],
      ['NodePool clusters/gpu CREATE', undefined],
      ['NodePool clusters/workers-inplace UPDATE', 'denied'],
      ['NodePool clusters/workers-legacy UPDATE', 'warned'],
    ]);
  });
});

describe.concurrent('check exit codes and inputs', () => {
  const legacy = `${GITOPS}/workers-legacy.yaml`;

  it('exits 0 on a warning, and 1 with --fail-on-warn', async () => {
    const [plain, strict] = await Promise.all([
      runCli(['check', '--state', STATE, legacy]),
      runCli(['check', '--state', STATE, '--fail-on-warn', legacy]),
    ]);
    expect(plain.code).toBe(0);
    expect(strict.code).toBe(1);
    expect(plain.stdout).toContain('WARN [implicit-flip]');
    expect(strict.stdout).toBe(plain.stdout);
  });

  it('does not fail on a mutation with --fail-on-warn', async () => {
    const result = await runCli([
      'check',
      '--state',
      STATE,
      '--fail-on-warn',
      `${GITOPS}/gpu.yaml`,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('MUTATE [pin-on-create]');
  });

  it('reads manifests from stdin with -', async () => {
    const result = await runCli(['check', '--state', STATE, '-'], {
      stdin: example('workers-inplace.yaml'),
    });
    expect(result.code).toBe(1);
    const { pools } = textReport(result.stdout);
    expect(pools.get('clusters/workers-inplace')?.header).toMatch(/UPDATE .*: denied$/);
    expect(labels(pools.get('clusters/workers-inplace'))).toEqual(['DENY [no-downgrade]']);
  });

  it('reads a directory laid out as a mounted ConfigMap (files are symlinks into ..data)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamguard-mount-'));
    try {
      // What the kubelet writes: ..<timestamp>/ with the files, ..data → it, and one symlink per
      // key at the mount root. Each file must be read once, through the root's symlink.
      mkdirSync(join(dir, '..2026_11_22_00_00_00.1'));
      writeFileSync(
        join(dir, '..2026_11_22_00_00_00.1', 'workers-inplace.yaml'),
        example('workers-inplace.yaml'),
      );
      symlinkSync('..2026_11_22_00_00_00.1', join(dir, '..data'));
      symlinkSync(join('..data', 'workers-inplace.yaml'), join(dir, 'workers-inplace.yaml'));
      const result = await runCli(['check', '--state', STATE, dir]);
      expect(result.code).toBe(1);
      const { pools, summary } = textReport(result.stdout);
      expect([...pools.keys()]).toEqual(['clusters/workers-inplace']);
      expect(labels(pools.get('clusters/workers-inplace'))).toEqual(['DENY [no-downgrade]']);
      expect(summary).toBe('1 NodePool checked: 1 denied, 0 with warnings, 0 clean');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('puts a manifest without a namespace in the -n namespace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamguard-ns-'));
    try {
      const file = join(dir, 'pool.yaml');
      writeFileSync(
        file,
        example('workers-inplace.yaml').replace(/^ {2}namespace: clusters\n/m, ''),
      );
      expect(readFileSync(file, 'utf8')).not.toContain('namespace:');
      const [inClusters, inDefault] = await Promise.all([
        runCli(['check', '--state', STATE, '-n', 'clusters', file]),
        runCli(['check', '--state', STATE, file]),
      ]);
      // In clusters it is the existing workers-inplace: its old object comes from the state.
      expect(inClusters.code).toBe(1);
      expect(inClusters.stdout).toContain(
        'NodePool clusters/workers-inplace UPDATE (old object from state): denied',
      );
      expect(inClusters.stdout).toContain('DENY [no-downgrade]');
      // Without -n it lands in "default", where no such pool exists.
      expect(inDefault.stdout).toContain('NodePool default/workers-inplace CREATE (new)');
      expect(inDefault.stdout).not.toContain('DENY');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('judges the pools that use a changed ConfigMap, from the state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamguard-cm-'));
    try {
      const configMaps = readFileSync(join(STATE_ABS, 'configmaps.yaml'), 'utf8');
      const runc = join(dir, 'runtime.yaml');
      writeFileSync(runc, configMaps.replace('defaultRuntime: crun', 'defaultRuntime: runc'));
      const unchanged = join(dir, 'unchanged.yaml');
      writeFileSync(unchanged, configMaps);
      const [changed, same] = await Promise.all([
        runCli(['check', '--state', STATE, runc]),
        runCli(['check', '--state', STATE, unchanged]),
      ]);
      expect(changed.code).toBe(1);
      const { pools, summary } = textReport(changed.stdout);
      expect([...pools.keys()]).toEqual(['clusters/workers-inplace']);
      expect(pools.get('clusters/workers-inplace')?.header).toBe(
        `${runc}: NodePool clusters/workers-inplace UPDATE (old object from state, changed through ConfigMap clusters/workers-runtime): denied`,
      );
      expect(labels(pools.get('clusters/workers-inplace'))).toEqual(['DENY [no-downgrade]']);
      expect(pools.get('clusters/workers-inplace')?.findings[0]).toContain('runc');
      expect(summary).toBe('1 NodePool checked: 1 denied, 0 with warnings, 0 clean');
      // The same ConfigMap, unchanged: the pool is still judged, and is fine.
      expect(same.code).toBe(0);
      expect(same.stdout).toMatch(
        /changed through ConfigMap clusters\/workers-runtime\): allowed\n/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says so when the change has no NodePools', async () => {
    const result = await runCli(['check', '--state', STATE, '-'], {
      stdin:
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unrelated\n  namespace: clusters\n',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('no NodePools in the change (nothing to check)\n');
  });

  const errorDir = mkdtempSync(join(tmpdir(), 'streamguard-check-errors-'));
  afterAll(() => rmSync(errorDir, { recursive: true, force: true }));
  const broken = join(errorDir, 'broken.yaml');
  // Line 5 is indented as if inside metadata but after a sibling: a YAML syntax error there.
  writeFileSync(broken, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: [\n');

  const usageErrors: [string, string[], RegExp][] = [
    [
      'a YAML syntax error',
      ['check', '--state', STATE, broken],
      new RegExp(`^streamguard: error: ${escape(broken)}:5:\\d+: `, 'm'),
    ],
    [
      'a path that does not exist',
      ['check', '--state', STATE, 'examples/gitops/missing.yaml'],
      /examples\/gitops\/missing\.yaml: no such file or directory/,
    ],
    ['no paths', ['check', '--state', STATE], /missing required argument 'path'/],
    [
      'an unknown output format',
      ['check', '-o', 'sarif', GITOPS],
      /argument 'sarif' is invalid\. Allowed choices are text, json, junit/,
    ],
    [
      '--base-ref with stdin',
      ['check', '--base-ref', 'HEAD', '-'],
      /--base-ref cannot be used with - \(stdin has no Git history\)/,
    ],
    [
      'a state directory that does not exist',
      ['check', '--state', 'examples/nope', GITOPS],
      /examples\/nope: cannot read state directory/,
    ],
  ];

  it.each(usageErrors)('exits 2 with a message for %s', async (_what, args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});

describe.concurrent('check --base-ref', () => {
  let repo: string;
  const git = (...args: string[]) =>
    execFileSync(
      'git',
      [
        '-c',
        'user.name=Test',
        '-c',
        'user.email=test@example.com',
        '-c',
        'init.defaultBranch=main',
        ...args,
      ],
      { cwd: repo, stdio: 'pipe' },
    );

  /** An InPlace pool `name` with an explicit stream, not in examples/state. */
  const pool = (name: string, stream: string) =>
    example('workers-inplace.yaml')
      .replace('name: workers-inplace', `name: ${name}`)
      .replace('name: rhel-9', `name: ${stream}`);

  beforeAll(() => {
    repo = mkdtempSync(join(tmpdir(), 'streamguard-git-'));
    git('init', '-q');
    mkdirSync(join(repo, 'pools'));
    writeFileSync(join(repo, 'pools', 'edge.yaml'), pool('edge', 'rhel-10'));
    git('add', '.');
    git('commit', '-q', '-m', 'edge on rhel-10');
    // The working tree: edge moved back to rhel-9, and a pool the base revision does not have.
    writeFileSync(join(repo, 'pools', 'edge.yaml'), pool('edge', 'rhel-9'));
    writeFileSync(join(repo, 'pools', 'fresh.yaml'), pool('fresh', 'rhel-9'));

    // Pools that are in examples/state too. At the base revision: workers-legacy already on 5.0
    // (implicit rhel-10), and workers-inplace on 4.21 (implicit rhel-9, yet its nodes run rhel-10
    // by the state's status). The change pins both to rhel-9.
    mkdirSync(join(repo, 'live'));
    const inplaceOn421 = example('workers-inplace.yaml').replace(
      '5.0.0-ec.2-x86_64',
      '4.21.0-x86_64',
    );
    const pinned = /^ {2}osImageStream:\n {4}name: rhel-9\n/m;
    expect(inplaceOn421).toMatch(pinned);
    writeFileSync(join(repo, 'live', 'inplace.yaml'), inplaceOn421.replace(pinned, ''));
    writeFileSync(join(repo, 'live', 'legacy.yaml'), example('workers-legacy.yaml'));
    git('add', 'live');
    git('commit', '-q', '-m', 'live pools');
    writeFileSync(join(repo, 'live', 'inplace.yaml'), inplaceOn421);
    writeFileSync(
      join(repo, 'live', 'legacy.yaml'),
      example('workers-legacy.yaml').replace(
        /^ {2}replicas: 2\n/m,
        '  replicas: 2\n  osImageStream:\n    name: rhel-9\n',
      ),
    );
  });
  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  it('takes the old object from the base revision, and a file new since then is a CREATE', async () => {
    const result = await runCli(['check', '--state', STATE_ABS, '--base-ref', 'HEAD', 'pools'], {
      cwd: repo,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    const { pools } = textReport(result.stdout);
    expect(pools.get('clusters/edge')?.header).toBe(
      'pools/edge.yaml: NodePool clusters/edge UPDATE (old object from base-ref): denied',
    );
    expect(labels(pools.get('clusters/edge'))).toEqual(['DENY [no-downgrade]']);
    expect(pools.get('clusters/edge')?.findings[0]).toContain('spec.osImageStream.name is rhel-10');
    expect(pools.get('clusters/fresh')?.header).toBe(
      'pools/fresh.yaml: NodePool clusters/fresh CREATE (new): allowed',
    );
  });

  it('sees no downgrade without --base-ref, as neither pool is in the state', async () => {
    const result = await runCli(['check', '--state', STATE_ABS, 'pools/edge.yaml'], { cwd: repo });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('NodePool clusters/edge CREATE (new): allowed');
  });

  it('prefers the base revision to the state for the old spec, but keeps the status of the state', async () => {
    const [withBase, withoutBase] = await Promise.all([
      runCli(['check', '--state', STATE_ABS, '--base-ref', 'HEAD', 'live'], { cwd: repo }),
      runCli(['check', '--state', STATE_ABS, 'live'], { cwd: repo }),
    ]);
    const base = textReport(withBase.stdout).pools;
    // At the base revision workers-legacy was on 5.0 already: pinning rhel-9 is a downgrade.
    // Judged against the state's 4.21 spec, the same change is no change of stream at all.
    expect(base.get('clusters/workers-legacy')?.header).toBe(
      'live/legacy.yaml: NodePool clusters/workers-legacy UPDATE (old object from base-ref): denied',
    );
    expect(labels(base.get('clusters/workers-legacy'))).toEqual(['DENY [no-downgrade]']);
    expect(textReport(withoutBase.stdout).pools.get('clusters/workers-legacy')?.header).toMatch(
      /UPDATE \(old object from state\): allowed$/,
    );
    // Git holds no status: the nodes' rhel-10 comes from the state and still forbids rhel-9.
    const inplace = base.get('clusters/workers-inplace');
    expect(inplace?.header).toMatch(/UPDATE \(old object from base-ref\): denied$/);
    expect(labels(inplace)).toEqual(['DENY [no-downgrade]']);
    expect(inplace?.findings[0]).toContain('status.osImageStream.name is rhel-10');
  });

  it('exits 2 for a revision that is not in the repository', async () => {
    const result = await runCli(
      ['check', '--state', STATE_ABS, '--base-ref', 'no-such-branch', 'pools'],
      { cwd: repo },
    );
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/--base-ref no-such-branch: not a commit in the Git repository/);
  });

  it('exits 2 for a revision that looks like an option', async () => {
    const result = await runCli(['check', '--base-ref=--output=x', 'pools'], { cwd: repo });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--base-ref --output=x: not a Git revision/);
  });
});

// A small XML reader for the JUnit report: elements, attributes, text and the five entities;
// it throws on anything a strict XML parser would refuse in this subset.
interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};

function unescapeXml(raw: string): string {
  if (/[<]/.test(raw)) throw new Error(`raw < in ${JSON.stringify(raw)}`);
  return raw.replace(/&([a-z]+);|&/g, (match, name: string | undefined) => {
    const value = name === undefined ? undefined : ENTITIES[name];
    if (value === undefined) throw new Error(`bad entity reference ${match}`);
    return value;
  });
}

function parseXml(text: string): XmlElement {
  const prolog = '<?xml version="1.0" encoding="UTF-8"?>\n';
  if (!text.startsWith(prolog)) throw new Error('missing XML declaration');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(text)) throw new Error('control character');
  const token = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[A-Za-z][\w.-]*="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let pos = prolog.length;
  token.lastIndex = pos;
  let m: RegExpExecArray | null;
  while (pos < text.length && (m = token.exec(text)) !== null) {
    pos = token.lastIndex;
    const [, close, name, attrs, selfClose, chars] = m;
    const top = stack[stack.length - 1];
    if (chars !== undefined) {
      if (!top) {
        if (chars.trim() !== '') throw new Error('text outside the root element');
        continue;
      }
      top.text += unescapeXml(chars);
      continue;
    }
    if (close) {
      if (top?.name !== name) throw new Error(`</${name}> closes <${top?.name}>`);
      stack.pop();
      continue;
    }
    const element: XmlElement = { name: name ?? '', attributes: {}, children: [], text: '' };
    for (const a of (attrs ?? '').matchAll(/([A-Za-z][\w.-]*)="([^"]*)"/g)) {
      if (a[1] === undefined || a[1] in element.attributes) throw new Error('duplicate attribute');
      element.attributes[a[1]] = unescapeXml(a[2] ?? '');
    }
    if (top) top.children.push(element);
    else if (root) throw new Error('two root elements');
    else root = element;
    if (!selfClose) stack.push(element);
  }
  if (pos !== text.length) throw new Error(`cannot read XML at offset ${pos}`);
  if (stack.length > 0) throw new Error(`<${stack[stack.length - 1]?.name}> is not closed`);
  if (!root) throw new Error('no root element');
  return root;
}

describe('the test XML reader', () => {
  it('refuses what is not well-formed', () => {
    const p = '<?xml version="1.0" encoding="UTF-8"?>\n';
    expect(parseXml(`${p}<a x="1&amp;2"><b>t &lt; u</b></a>\n`).children[0]?.text).toBe('t < u');
    expect(() => parseXml(`${p}<a><b></a></b>`)).toThrow();
    expect(() => parseXml(`${p}<a>x & y</a>`)).toThrow();
    expect(() => parseXml(`${p}<a x="1" x="2"></a>`)).toThrow();
    expect(() => parseXml(`${p}<a>`)).toThrow();
    expect(() => parseXml(`${p}<a x="<"></a>`)).toThrow();
    expect(() => parseXml('<a></a>')).toThrow();
  });
});
