// `streamguard release inspect|fetch` through the real CLI, against a real registry holding the
// synthetic release payload (real 4.12 tag names, real dual-stream 5.0 boot images).
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAdmissionReviewBytes } from '../../src/admission/parse.js';
import { decide, type Webhook } from '../../src/engine/decide.js';
import type { DecisionContext } from '../../src/engine/types.js';
import { defaultPolicy } from '../../src/policy/load.js';
import { loadState } from '../../src/state/load.js';
import {
  freePort,
  setupOrFailEach,
  startRegistry,
  type RunningRegistry,
} from '../registry-support/registry.js';
import {
  pushReleasePayloadTo,
  VERSION,
  type SyntheticRelease,
} from '../registry-support/release-payload.js';
import { REPO_ROOT, runCli } from '../support/cli.js';

const EXAMPLE_PULLSPEC = 'quay.io/openshift-release-dev/ocp-release:5.0.0-ec.2-x86_64';

let registry: RunningRegistry;
let payload: SyntheticRelease;
let work: string;

setupOrFailEach(async () => {
  registry = await startRegistry();
  work = await mkdtemp(join(tmpdir(), 'sg-release-cli-'));
  payload = await pushReleasePayloadTo(registry.host);
});

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const insecure = () => ['--insecure-registry', registry.host];

describe.concurrent('release inspect', () => {
  it('prints version, streams, node images and the boot image coverage table (text)', async () => {
    const result = await runCli(['release', 'inspect', payload.release.pullspec, ...insecure()]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(new RegExp(`^Release +${escape(payload.release.pullspec)}$`, 'm'));
    expect(out).toMatch(/^Version +5\.0\.0-ec\.2$/m);
    expect(out).toMatch(/^Arch +x86_64$/m);
    expect(out).toMatch(/^Components +185 /m);
    expect(out).toMatch(/^Streams +rhel-9, rhel-10$/m);
    const node = (tag: string) => payload.components.find((c) => c.tag === tag)?.source ?? '?';
    expect(out).toMatch(new RegExp(`^  rhel-9 +os +${escape(node('rhel-coreos'))}$`, 'm'));
    expect(out).toMatch(
      new RegExp(`^  rhel-10 +extensions +${escape(node('rhel-coreos-10-extensions'))}$`, 'm'),
    );
    // Rows from the real 5.0.0-ec.2 coreos-bootimages (HyperShift's fixture).
    for (const row of [
      'rhel-9 AWS x86_64 us-east-1 ami-06a6b025350ff1e23',
      'rhel-9 AWS aarch64 us-west-2 ami-0f4439b005ce8bb83',
      'rhel-10 AWS x86_64 us-east-1 ami-04b3d999e39d62c5b',
      'rhel-10 AWS aarch64 us-east-1 ami-0d7237e6b04d9a9e1',
      'rhel-10 GCP x86_64 - projects/rhcos-cloud/global/images/rhcos-10-2-20260405-0-gcp-x86-64',
      'rhel-9 Azure aarch64 Gen2 azureopenshift:aro4:420-arm:9.6.20251015',
      `rhel-10 KubeVirt x86_64 - ${payload.kubevirt['rhel-10'].digestRef}`,
      `rhel-9 KubeVirt x86_64 - ${payload.kubevirt['rhel-9'].digestRef}`,
    ]) {
      expect(out).toMatch(new RegExp(`^  ${row.split(' ').map(escape).join(' +')}$`, 'm'));
    }
    expect(out).toMatch(
      /^ {2}rhel-10 +PowerVS +ppc64le +au-syd +https:\/\/\S+rhcos-10-2-20260405-0/m,
    );
    expect(out).toMatch(/multi-stream "streams" key/);
    expect(out).toMatch(/^Payload files: read 1 of 2 layer\(s\)/m);
  });

  it('prints the same facts as JSON', async () => {
    const result = await runCli([
      'release',
      'inspect',
      '-o',
      'json',
      payload.release.pullspec,
      ...insecure(),
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout) as {
      version: string;
      arch: string;
      digest: string;
      components: number;
      streams: string[];
      releaseVersion: string;
      nodeImages: { stream: string; os: string; extensions: string }[];
      bootImages: {
        stream: string;
        platform: string;
        arch: string;
        location: string | null;
        image: string;
      }[];
      scan: { layersRead: number; bytesRead: number; layerBytes: number };
    };
    expect(doc).toMatchObject({
      version: VERSION,
      arch: 'x86_64',
      digest: payload.release.digest,
      components: 185,
      streams: ['rhel-9', 'rhel-10'],
      releaseVersion: VERSION,
    });
    expect(doc.nodeImages.map((n) => n.stream)).toEqual(['rhel-9', 'rhel-10']);
    expect(doc.bootImages).toContainEqual({
      stream: 'rhel-10',
      platform: 'AWS',
      arch: 'x86_64',
      location: 'us-west-2',
      image: 'ami-07e365adf44ca432a',
      release: '10.2.20260405-0',
    });
    const platforms = new Set(doc.bootImages.map((r) => `${r.stream}/${r.platform}`));
    expect([...platforms].sort()).toEqual([
      'rhel-10/AWS',
      'rhel-10/GCP',
      'rhel-10/KubeVirt',
      'rhel-10/OpenStack',
      'rhel-10/PowerVS',
      'rhel-9/AWS',
      'rhel-9/AWS-WindowsLI',
      'rhel-9/Azure',
      'rhel-9/GCP',
      'rhel-9/KubeVirt',
      'rhel-9/OpenStack',
      'rhel-9/PowerVS',
    ]);
    expect(doc.scan.layersRead).toBe(1);
    expect(doc.scan.bytesRead).toBeLessThan(doc.scan.layerBytes);
  });

  it('reads the aarch64 release image of a multi-arch release with --arch', async () => {
    const result = await runCli([
      'release',
      'inspect',
      '-o',
      'json',
      payload.multi.pullspec,
      '--arch',
      'arm64',
      ...insecure(),
    ]);
    expect(result.stderr).toBe('');
    const doc = JSON.parse(result.stdout) as { arch: string; digest: string; image: unknown };
    expect(doc.arch).toBe('multi');
    expect(doc.digest).toBe(payload.multi.digest);
    expect(doc.image).toMatchObject({
      digest: payload.multi.children.aarch64.digest,
      arch: 'aarch64',
    });
  });

  it('exits 3 with a clear message when the registry is unreachable, 2 on bad input', async () => {
    const port = await freePort();
    const down = await runCli([
      'release',
      'inspect',
      `127.0.0.1:${port}/openshift-release-dev/ocp-release:${VERSION}-x86_64`,
      '--insecure-registry',
      `127.0.0.1:${port}`,
    ]);
    expect(down.code).toBe(3);
    expect(down.stdout).toBe('');
    expect(down.stderr).toMatch(
      new RegExp(
        `^streamguard: failed: cannot read release 127\\.0\\.0\\.1:${port}/\\S+: .*(ECONNREFUSED|refused)`,
      ),
    );
    expect(down.stderr).not.toMatch(/^\s+at /m);

    const [noPullspec, badFormat, badRef] = await Promise.all([
      runCli(['release', 'inspect']),
      runCli(['release', 'inspect', '-o', 'yaml', payload.release.pullspec]),
      runCli(['release', 'inspect', 'no-registry-here', ...insecure()]),
    ]);
    expect(noPullspec.code).toBe(2);
    expect(badFormat.code).toBe(2);
    expect(badRef.code).toBe(2);
    expect(badRef.stderr).toMatch(/^streamguard: error: release "no-registry-here"/);
  });
});

describe('release fetch', () => {
  it('writes release data the engine uses exactly like the hand-made example state', async () => {
    // The example state, with its hand-made 5.0.0-ec.2 release file replaced by a fetched one
    // (and its NodePools and HostedCluster pointed at the synthetic release's pullspec).
    const state = join(work, 'state');
    await cp(join(REPO_ROOT, 'examples/state'), state, { recursive: true });
    await rm(join(state, 'releases/5.0.0-ec.2.yaml'));
    for (const name of await readdir(state)) {
      const path = join(state, name);
      if (!(await stat(path)).isFile()) continue;
      const text = await readFile(path, 'utf8');
      await writeFile(path, text.replaceAll(EXAMPLE_PULLSPEC, payload.release.pullspec));
    }
    const fetched = await runCli([
      'release',
      'fetch',
      payload.release.pullspec,
      '--into',
      state,
      ...insecure(),
    ]);
    expect(fetched.stderr).toBe('');
    expect(fetched.code).toBe(0);
    const file = join(state, 'releases', `${VERSION}-x86_64.yaml`);
    expect(fetched.stdout).toBe(
      `wrote ${file}: boot images ConfigMap and image-references ImageStream of ${payload.release.pullspec} (version ${VERSION}, ${payload.release.digest})\n`,
    );
    expect((await readdir(join(state, 'releases'))).sort()).toEqual([
      '4.21.0.yaml',
      `${VERSION}-x86_64.yaml`,
    ]);

    const loaded = await loadState(state);
    const info = loaded.releases.release(payload.release.pullspec);
    expect(info.source).toBe('release');
    expect(info.versionFrom).toBe('releaseVersion');
    expect(info.bootImages.streams).toEqual(['rhel-9', 'rhel-10']);
    expect(info.nodeImages?.get('rhel-10')?.os).toBe(
      payload.components.find((c) => c.tag === 'rhel-coreos-10')?.source,
    );

    const example = await loadState(join(REPO_ROOT, 'examples/state'));
    const ctx = (s: typeof loaded): DecisionContext => ({
      policy: defaultPolicy(),
      releases: s.releases,
      cluster: s.cluster,
    });
    const requests = (await readdir(join(REPO_ROOT, 'examples/requests'))).filter((f) =>
      f.endsWith('.json'),
    );
    expect(requests.length).toBeGreaterThan(3);
    for (const name of requests) {
      const original = await readFile(join(REPO_ROOT, 'examples/requests', name), 'utf8');
      const ours = original.replaceAll(EXAMPLE_PULLSPEC, payload.release.pullspec);
      for (const webhook of ['validate', 'mutate'] as Webhook[]) {
        const expected = decide(
          parseAdmissionReviewBytes(Buffer.from(original), name),
          ctx(example),
          webhook,
        );
        const got = decide(
          parseAdmissionReviewBytes(Buffer.from(ours), name),
          ctx(loaded),
          webhook,
        );
        expect(
          JSON.stringify(got).replaceAll(payload.release.pullspec, EXAMPLE_PULLSPEC),
          `${name} (${webhook})`,
        ).toBe(JSON.stringify(expected));
      }
    }

    // The same release again: nothing changes. Another release's file under that name: refused.
    const before = await readFile(file, 'utf8');
    const fetchInto = (dir: string, ...extra: string[]) =>
      runCli([
        'release',
        'fetch',
        payload.release.pullspec,
        '--into',
        dir,
        ...extra,
        ...insecure(),
      ]);
    const foreignDir = join(work, 'foreign');
    const movedDir = join(work, 'moved');
    const name = `${VERSION}-x86_64.yaml`;
    const foreign = before.replaceAll(payload.release.pullspec, EXAMPLE_PULLSPEC);
    // A moved tag: same pullspec, another digest.
    const moved = before.replace(payload.release.digest, `sha256:${'0'.repeat(64)}`);
    for (const [dir, text] of [
      [foreignDir, foreign],
      [movedDir, moved],
    ] as const) {
      await cp(join(state, 'releases'), join(dir, 'releases'), { recursive: true });
      await writeFile(join(dir, 'releases', name), text);
    }
    const [again, refused, movedResult] = await Promise.all([
      fetchInto(state),
      fetchInto(foreignDir),
      fetchInto(movedDir),
    ]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(
      `${file} is up to date (${payload.release.pullspec}, ${payload.release.digest})\n`,
    );
    expect(await readFile(file, 'utf8')).toBe(before);

    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`already holds the release data of ${EXAMPLE_PULLSPEC}`);
    expect(await readFile(join(foreignDir, 'releases', name), 'utf8')).toBe(foreign);
    expect((await readdir(join(foreignDir, 'releases'))).sort()).toEqual(['4.21.0.yaml', name]);

    expect(movedResult.code).toBe(2);
    expect(movedResult.stderr).toMatch(/the tag now points at sha256:[0-9a-f]{64}; use --force/);
    expect(await readFile(join(movedDir, 'releases', name), 'utf8')).toBe(moved);
    const forced = await fetchInto(movedDir, '--force');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^replaced /);
    expect(await readFile(join(movedDir, 'releases', name), 'utf8')).toBe(before);
    expect((await readdir(join(movedDir, 'releases'))).sort()).toEqual(['4.21.0.yaml', name]);
  });

  it('needs --into (exit 2)', async () => {
    const result = await runCli(['release', 'fetch', payload.release.pullspec, ...insecure()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("required option '--into <dir>'");
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
