// `streamguard plan` end to end through the real CLI, against a real registry holding the
// synthetic release payload (185 components, Docker v2 / OCI manifests / OCI indexes).
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pullPlan } from '../../src/mirror/publish.js';
import { RegistryClient } from '../../src/registry/index.js';
import { readPlan } from '../registry-support/plan-files.js';
import {
  freePort,
  setupOrFailEach,
  startRegistry,
  type RunningRegistry,
} from '../registry-support/registry.js';
import {
  INDEX_TAGS,
  pushReleasePayloadTo,
  VERSION,
  type SyntheticRelease,
} from '../registry-support/release-payload.js';
import { runCli, type CliResult } from '../support/cli.js';

const TO = 'mirror.example.com:8443/ocp';
const FILES = [
  'idms.yaml',
  'images.json',
  'imageset-config.yaml',
  'itms.yaml',
  'mapping.txt',
  'summary.md',
];

let registry: RunningRegistry;
let payload: SyntheticRelease;
let work: string;

setupOrFailEach(async () => {
  registry = await startRegistry();
  work = await mkdtemp(join(tmpdir(), 'sg-plan-cli-'));
  payload = await pushReleasePayloadTo(registry.host);
});

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

function plan(args: string[], cwd?: string): Promise<CliResult> {
  return runCli(['plan', ...args, '--insecure-registry', registry.host], cwd ? { cwd } : {});
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Bytes of a set of images, each distinct manifest once and each layer once. */
function expectedBytes(
  components: { size: number; layers: { digest: string; size: number }[] }[],
): number {
  const layers = new Map<string, number>();
  let bytes = 0;
  for (const c of components) {
    bytes += c.size - c.layers.reduce((s, l) => s + l.size, 0);
    for (const l of c.layers) layers.set(l.digest, l.size);
  }
  for (const size of layers.values()) bytes += size;
  return bytes;
}

/** `Requests: N (ping 1, manifest 189, blob 1), 0 retries` → { ping: 1, manifest: 189, blob: 1 }. */
function requestKinds(stdout: string): Record<string, number> {
  const match = /^Requests: \d+ \(([^)]*)\), 0 retries$/m.exec(stdout);
  expect(match, stdout).not.toBeNull();
  return Object.fromEntries(
    (match?.[1] ?? '').split(', ').map((part) => {
      const [kind, n] = part.split(' ');
      return [kind ?? '', Number(n)];
    }),
  );
}

function withCommas(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

interface ImagesJson {
  releases: { arch: string; digest: string; releaseTag: string }[];
  images: {
    tag: string;
    kind: string;
    stream: string;
    digest: string;
    size: number | null;
    mediaType: string | null;
  }[];
}

describe('plan', () => {
  it('writes every file, identically for two planners at once sharing a cache and for a cheap rerun', async () => {
    const cache = join(work, 'cache');
    const args = (out: string) => [
      '--release',
      payload.release.pullspec,
      '--to',
      TO,
      '--out',
      join(work, out),
      '--cache-dir',
      cache,
    ];
    const [a, b] = await Promise.all([plan(args('a')), plan(args('b'))]);
    for (const r of [a, b]) {
      expect(r.code, r.stderr).toBe(0);
      // Plain progress lines (not a TTY): the component count, then about every 10 %.
      expect(r.stderr).toContain(`plan: ${payload.release.pullspec}: 185 components\n`);
      const lines = r.stderr.match(
        /^plan: \d+\/185 components \(\d+%\), \d+ requests, \d+ retries$/gm,
      );
      expect(lines?.length).toBeGreaterThanOrEqual(5);
      expect(lines?.at(-1)).toMatch(/^plan: 185\/185 components \(100%\)/);
    }
    const planA = await readPlan(join(work, 'a'));
    expect([...planA.keys()]).toEqual(FILES);
    expect(await readPlan(join(work, 'b'))).toEqual(planA);

    // Shared blobs counted once: the whole plan weighs every distinct layer once. The release
    // image is sized too (manifest, config, layers as pushed): no image of unknown size is left.
    const rel = payload.release;
    const releaseImage = { size: rel.manifestSize + rel.configSize, layers: rel.layers };
    releaseImage.size += rel.layers.reduce((s, l) => s + l.size, 0);
    const total = expectedBytes([releaseImage, ...payload.components]);
    expect(planA.get('summary.md')).toMatch(
      new RegExp(`^\\| whole plan \\| 186 \\| ${withCommas(total)} bytes .*\\|  \\|$`, 'm'),
    );
    expect(planA.get('summary.md')).not.toContain('unknown size');
    expect(a.stdout).toMatch(
      new RegExp(`^  whole plan +186 images  ${withCommas(total)} bytes \\(.*\\)$`, 'm'),
    );
    expect(a.stdout).not.toContain('unknown size');
    const sumOfSizes = payload.components.reduce((s, c) => s + c.size, 0);
    expect(sumOfSizes).toBeGreaterThan(total * 2);

    const images = JSON.parse(planA.get('images.json') ?? '') as ImagesJson;
    expect(images.images.find((i) => i.kind === 'release')).toMatchObject({
      digest: rel.digest,
      mediaType: rel.mediaType,
      size: releaseImage.size,
    });
    expect(images.images.filter((i) => i.size === null)).toEqual([]);
    for (const c of payload.components) {
      const image = images.images.find((i) => i.tag === c.tag);
      expect(image, c.tag).toMatchObject({
        digest: c.digest,
        size: c.size,
        mediaType: c.mediaType,
      });
    }
    expect(images.images.filter((i) => i.stream === 'rhel-10').map((i) => i.tag)).toEqual([
      'rhel-coreos-10',
      'rhel-coreos-10-extensions',
    ]);
    const mapping = planA.get('mapping.txt') ?? '';
    expect(mapping.split('\n').filter(Boolean)).toHaveLength(186);
    expect(mapping).toContain(
      `docker://${payload.release.pullspec}=docker://${TO}/openshift/release-images:${VERSION}-x86_64\n`,
    );

    // Sharing the cache, one planner may find what the other has just stored (manifests, the
    // payload files): each sends at most the minimum (see the --force test for exact counts).
    for (const r of [a, b]) {
      const kinds = requestKinds(r.stdout);
      expect(kinds.ping).toBe(1);
      expect(kinds.manifest).toBeGreaterThanOrEqual(1);
      expect(kinds.manifest).toBeLessThanOrEqual(1 + 185 + INDEX_TAGS.length + 2);
      expect(kinds.blob ?? 0).toBeLessThanOrEqual(1);
      expect(kinds.token).toBeUndefined();
    }
    expect(a.stdout).toMatch(/^Time: \d+\.\d s$/m);
    expect(a.stdout).toMatch(
      /^Wrote .*\/a: idms\.yaml, images\.json, imageset-config\.yaml, itms\.yaml, mapping\.txt, summary\.md$/m,
    );
    const without = (stream: string) => payload.components.filter((x) => x.stream !== stream);
    expect(a.stdout).toMatch(
      new RegExp(
        `^  shared \\+ rhel-9 +184 images  ${withCommas(expectedBytes([releaseImage, ...without('rhel-10')]))} bytes`,
        'm',
      ),
    );
    expect(a.stdout).toMatch(
      new RegExp(
        `^  shared \\+ rhel-10 +184 images  ${withCommas(expectedBytes([releaseImage, ...without('rhel-9')]))} bytes`,
        'm',
      ),
    );

    // A rerun with the cache: the release tag is resolved again, everything else is cached.
    const c = await plan(args('c'));
    expect(c.code, c.stderr).toBe(0);
    expect(await readPlan(join(work, 'c'))).toEqual(planA);
    expect(c.stdout).toMatch(/^Requests: 2 \(ping 1, manifest 1\), 0 retries$/m);
    expect(c.stdout).toMatch(/payload files from the cache/);
  });

  it('refuses an existing --out without --force (exit 2, untouched) and replaces it with --force', async () => {
    const out = join(work, 'existing');
    await mkdir(out);
    await writeFile(join(out, 'keep.txt'), 'mine\n');
    const refused = await plan(['--release', payload.release.pullspec, '--to', TO, '--out', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `streamguard: error: ${out} already exists (use --force to replace it)\n`,
    );
    expect(refused.stdout).toBe('');
    expect(await readdir(out)).toEqual(['keep.txt']);

    const forced = await plan([
      '--release',
      payload.release.pullspec,
      '--to',
      TO,
      '--out',
      out,
      '--force',
      '--streams',
      'rhel-10',
      '--kubevirt',
    ]);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(FILES);
    // The minimum without a cache: ping, release manifest, last layer, one manifest per
    // component (+ the 3 index components' amd64 children) and per KubeVirt disk (2); this
    // registry needs no token.
    const manifests = 1 + 185 + INDEX_TAGS.length + 2;
    expect(forced.stdout).toMatch(
      new RegExp(
        `^Requests: ${2 + manifests} \\(ping 1, manifest ${manifests}, blob 1\\), 0 retries$`,
        'm',
      ),
    );
    const images = JSON.parse(await readFile(join(out, 'images.json'), 'utf8')) as ImagesJson;
    const disk = payload.kubevirt['rhel-10'];
    expect(images.images.filter((i) => i.kind === 'kubevirt')).toEqual([
      expect.objectContaining({ digest: disk.digest, mediaType: disk.mediaType, size: disk.size }),
    ]);
    expect(images.images.filter((i) => i.size === null)).toEqual([]);
    expect(await readFile(join(out, 'summary.md'), 'utf8')).not.toContain('unknown size');
    expect(images.images.some((i) => i.tag === 'rhel-coreos')).toBe(false);
  });

  it('plans a multi-arch release for --arch aarch64, into mirror-plans/<tag> by default', async () => {
    const cwd = join(work, 'cwd-multi');
    await mkdir(cwd);
    const result = await plan(
      ['--release', payload.multi.pullspec, '--to', TO, '--arch', 'aarch64'],
      cwd,
    );
    expect(result.code, result.stderr).toBe(0);
    const out = join(cwd, 'mirror-plans', `${VERSION}-multi`);
    const files = await readPlan(out);
    expect([...files.keys()]).toEqual(FILES);
    const images = JSON.parse(files.get('images.json') ?? '') as ImagesJson;
    expect(images.releases).toEqual([
      expect.objectContaining({ arch: 'multi', digest: payload.multi.digest }),
    ]);
    for (const tag of INDEX_TAGS) {
      const expected = payload.components.find((c) => c.tag === tag)?.archSizes?.aarch64.size;
      expect(images.images.find((i) => i.tag === tag)?.size).toBe(expected);
    }
    expect(files.get('imageset-config.yaml')).toContain('architecture: arm64');
    expect(files.get('summary.md')).toMatch(/^#### aarch64 /m);
    expect(files.get('summary.md')).not.toMatch(/^#### x86_64 /m);
  });

  it('exits 2 on bad flags, before any request', async () => {
    const port = await freePort();
    const release = `127.0.0.1:${port}/openshift-release-dev/ocp-release:${VERSION}-x86_64`;
    const cwd = join(work, 'cwd-flags');
    await mkdir(cwd);
    const cases: [string[], RegExp][] = [
      [['--to', TO], /required option '--release/],
      [['--release', release, '--to', TO, '--max-nested-paths', '-1'], /max-nested-paths/],
      [['--release', release, '--to', TO, '--max-nested-paths', '1'], /max nested paths \(1\)/],
      [['--release', release, '--to', TO, '--arch', 'sparc'], /architecture "sparc"/],
      [['--release', release, '--to', TO, '--concurrency', '0'], /--concurrency/],
      [['--release', release, '--to', 'https://x'], /destination/],
      [['--release', 'not-a-pullspec', '--to', TO], /release "not-a-pullspec"/],
    ];
    const results = await Promise.all(cases.map(([args]) => plan(args, cwd)));
    results.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(cases[i]?.[1] ?? /./);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    });
    expect(await readdir(cwd)).toEqual([]);
  });

  it('exits 3 with a clear message and no output when the registry is unreachable; 2 for an unknown stream', async () => {
    const port = await freePort();
    const cwd = join(work, 'cwd-down');
    await mkdir(cwd);
    const [down, unknownStream] = await Promise.all([
      runCli(
        [
          'plan',
          '--release',
          `127.0.0.1:${port}/openshift-release-dev/ocp-release:${VERSION}-x86_64`,
          '--to',
          TO,
          '--insecure-registry',
          `127.0.0.1:${port}`,
        ],
        { cwd },
      ),
      plan(['--release', payload.release.pullspec, '--to', TO, '--streams', 'rhel-11'], cwd),
    ]);
    expect(down.code).toBe(3);
    expect(down.stdout).toBe('');
    expect(down.stderr).toMatch(
      new RegExp(
        `^streamguard: failed: cannot read release 127\\.0\\.0\\.1:${port}/openshift-release-dev/ocp-release:${VERSION.replace(/\./g, '\\.')}-x86_64: .*(ECONNREFUSED|refused).*is the registry reachable`,
        'm',
      ),
    );
    expect(unknownStream.code).toBe(2);
    expect(unknownStream.stderr).toMatch(
      /stream "rhel-11" is in no release; the releases offer rhel-9, rhel-10/,
    );
    expect(await exists(join(cwd, 'mirror-plans'))).toBe(false);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('publishes the plan it wrote as an OCI artifact that pulls back byte for byte (--publish)', async () => {
    const out = join(work, 'published');
    const target = `oci://${registry.host}/plans/streamguard:5.0`;
    const r = await plan([
      '--release',
      payload.release.pullspec,
      '--to',
      TO,
      '--out',
      out,
      '--publish',
      target,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`published: oci://${registry.host}/plans/streamguard:5\\.0@sha256:[a-f0-9]{64}`),
    );
    const client = new RegistryClient({ insecureRegistries: [registry.host] });
    try {
      const pulled = join(work, 'pulled');
      await pullPlan(client, `${registry.host}/plans/streamguard:5.0`, pulled);
      expect(await readPlan(pulled)).toEqual(await readPlan(out));
    } finally {
      await client.close();
    }
    const bad = await plan([
      '--release',
      payload.release.pullspec,
      '--to',
      TO,
      '--out',
      join(work, 'x'),
      '--publish',
      'oci://no-tag',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--publish oci://no-tag');
    expect(await exists(join(work, 'x'))).toBe(false);
  });

  it('teaches with --help', async () => {
    const help = await runCli(['plan', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('--cache-dir');
    expect(help.stdout).toMatch(/streamguard plan --release \S+ \\/);
  });
});
