// Renders charts/streamguard with tools/chart-render: Helm's own template engine (Go
// text/template + sprig v3), built once from Debian's Go packages, offline.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CHART = join(REPO, 'charts/streamguard');
const TOOL = join(REPO, 'tools/chart-render');
const GOPATH = '/usr/share/gocode';
const SPRIG = join(GOPATH, 'src/github.com/Masterminds/sprig');

// Offline GOPATH build: no module proxy, no toolchain download, the sources Debian installed.
const goEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  GO111MODULE: 'off',
  GOPATH,
  GOFLAGS: '',
  GOPROXY: 'off',
  GOTOOLCHAIN: 'local',
  GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'streamguard-go-cache'),
});

let built: string | undefined;

/** Path of the renderer binary, built on first use (shared by test files via a content hash). */
export function renderer(): string {
  if (built) return built;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new Error(
      "the chart tests render with Go (Helm's engine) but `go` is not on PATH: install golang-go and golang-github-masterminds-sprig-dev (Debian), as .ci/run does",
    );
  }
  if (!existsSync(SPRIG)) {
    throw new Error(
      `the chart tests need sprig v3 in ${SPRIG}: install golang-github-masterminds-sprig-dev (Debian), as .ci/run does`,
    );
  }
  const hash = createHash('sha256');
  for (const file of readdirSync(TOOL).sort())
    hash.update(file).update(readFileSync(join(TOOL, file)));
  const dir = join(tmpdir(), `streamguard-chart-render-${hash.digest('hex').slice(0, 16)}`);
  const binary = join(dir, 'chart-render');
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    // Build beside the final name and rename: test files running at once never see half a binary.
    const scratch = mkdtempSync(join(dir, 'build-'));
    execFileSync('go', ['build', '-o', join(scratch, 'chart-render'), '.'], {
      cwd: TOOL,
      env: goEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    renameSync(join(scratch, 'chart-render'), binary);
    rmSync(scratch, { recursive: true, force: true });
  }
  built = binary;
  return binary;
}

export interface RenderOptions {
  values?: object;
  set?: string[];
  name?: string;
  namespace?: string;
  chart?: string;
}

export interface RenderResult {
  status: number;
  stdout: string;
  stderr: string;
}

function args(opts: RenderOptions, extra: string[], scratch: string): string[] {
  const out = [
    '--name',
    opts.name ?? 'sg',
    '--namespace',
    opts.namespace ?? 'streamguard',
    ...extra,
  ];
  if (opts.values) {
    const file = join(scratch, 'values.json');
    // JSON is YAML: the renderer reads it as a values file like `helm template -f`.
    writeFileSync(file, JSON.stringify(opts.values));
    out.push('-f', file);
  }
  for (const s of opts.set ?? []) out.push('--set', s);
  out.push(opts.chart ?? CHART);
  return out;
}

export function runRenderer(opts: RenderOptions, extra: string[] = []): RenderResult {
  const scratch = mkdtempSync(join(tmpdir(), 'streamguard-values-'));
  try {
    const r = spawnSync(renderer(), args(opts, extra, scratch), { encoding: 'utf8' });
    if (r.error) throw r.error;
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function ok(opts: RenderOptions, extra: string[]): string {
  const r = runRenderer(opts, extra);
  if (r.status !== 0) throw new Error(`chart-render failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export type K8sObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
};

export interface Rendered {
  stream: string;
  objects: K8sObject[];
  /** Template file of each object, from the `# Source:` comments. */
  sources: string[];
}

export function render(opts: RenderOptions = {}): Rendered {
  const stream = ok(opts, []);
  const objects: K8sObject[] = [];
  const sources: string[] = [];
  for (const chunk of stream.split(/^---$/m)) {
    const doc = parseDocument(chunk);
    if (doc.errors.length > 0)
      throw new Error(`rendered YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as K8sObject | null;
    if (value === null) continue;
    objects.push(value);
    sources.push(/^# Source: (\S+)$/m.exec(chunk)?.[1] ?? '');
  }
  return { stream, objects, sources };
}

export const renderNotes = (opts: RenderOptions = {}): string => ok(opts, ['--notes']);

export const mergedValues = (opts: RenderOptions = {}): unknown =>
  JSON.parse(ok(opts, ['--print-values']));
