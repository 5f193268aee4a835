// `streamguard mirror verify` against Debian's docker-registry on loopback: the planned images are
// pushed (all, or some), the CLI checks them by digest, and the inventory it writes is loaded as
// offline state and judged by the engine's `mirrored` rule.

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { decide } from '../../src/engine/decide.js';
import { ANNOTATIONS } from '../../src/engine/types.js';
import type { ConfigMap } from '../../src/k8s/objects.js';
import { writePlanDir, type PlannedImage } from '../../src/mirror/index.js';
import { verifyPlan } from '../../src/mirror/verify.js';
import { defaultPolicy } from '../../src/policy/load.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { RequestEvent } from '../../src/registry/http.js';
import { inventoryDigests } from '../../src/state/mirror-inventory.js';
import { loadStateDir } from '../../src/state/load.js';
import { buildImage, gzip, pushImage, tar } from '../registry-support/images.js';
import {
  freePort,
  setupOrFailEach,
  startRegistry,
  type RunningRegistry,
} from '../registry-support/registry.js';
import { runCli } from '../support/cli.js';
import { hostedCluster, nodePool, request } from '../support/world.js';
import {
  ART,
  RELEASE_PULLSPEC,
  fixtureText,
  planFor,
  plannedImages,
  pushPlanned,
  smallRelease,
  type SmallRelease,
} from './fixture.js';

let registry: RunningRegistry;
let client: RegistryClient;
let work: string;
const release: SmallRelease = smallRelease();

setupOrFailEach(async () => {
  registry = await startRegistry();
  client = new RegistryClient({ insecureRegistries: [registry.host] });
  work = await mkdtemp(join(tmpdir(), 'sg-mirror-verify-'));
});

afterAll(async () => {
  await client?.close();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Plans the small release to `<registry>/<namespace>` and writes the plan directory. */
async function writePlan(namespace: string, to = `${registry.host}/${namespace}`) {
  const files = planFor(release, to);
  const dir = join(work, `plan-${namespace}`);
  await writePlanDir(dir, files);
  return { files, dir };
}

const uniqueSorted = (images: PlannedImage[]) => [...new Set(images.map((i) => i.digest))].sort();

async function readInventory(path: string): Promise<ConfigMap> {
  return parseYaml(await readFile(path, 'utf8')) as ConfigMap;
}

/**
 * A state directory for a disconnected HostedCluster whose imageContentSources send the release's
 * component repository to `mirror`, with the release data of 5.0.0-ec.2 (the image-references of
 * the small release and the real dual-stream boot images), plus `inventory` if given.
 */
async function stateDir(name: string, mirror: string, inventory?: string): Promise<string> {
  const dir = join(work, `state-${name}`);
  await mkdir(dir, { recursive: true });
  const hc = hostedCluster({ imageContentSources: [{ source: ART, mirrors: [mirror] }] });
  const annotate = { annotations: { [ANNOTATIONS.releaseImage]: RELEASE_PULLSPEC } };
  const refs = {
    ...release.imageReferences,
    metadata: { name: 'image-references', ...annotate },
  };
  const boot = parseYaml(
    fixtureText('hypershift-fixture-5.0-coreos-bootimages-configmap.yaml'),
  ) as ConfigMap;
  boot.metadata = { ...boot.metadata, ...annotate };
  await writeFile(join(dir, 'hostedcluster.yaml'), stringify(hc));
  await writeFile(join(dir, 'release.yaml'), `${stringify(refs)}---\n${stringify(boot)}`);
  if (inventory !== undefined) await writeFile(join(dir, 'mirror-inventory.yaml'), inventory);
  return dir;
}

async function judge(state: string, stream: string) {
  const { cluster, releases } = await loadStateDir(state);
  return decide(
    request('CREATE', nodePool({ stream })),
    { policy: defaultPolicy(), cluster, releases },
    'validate',
  );
}

const denied = (d: { findings: readonly { severity: string; rule: string }[] }) =>
  d.findings.filter((f) => f.severity === 'deny').map((f) => f.rule);

describe('mirror verify', () => {
  it('exits 0 when every planned image is there and writes an inventory of exactly their digests that satisfies the mirrored rule', async () => {
    const { files, dir } = await writePlan('full');
    const planned = plannedImages(files);
    await pushPlanned(client, release, files);

    const result = await runCli([
      'mirror',
      'verify',
      '--plan',
      dir,
      '--insecure-registry',
      registry.host,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `${registry.host}: ${planned.length} of ${planned.length} planned images present`,
    );
    expect(result.stdout).not.toContain('missing');

    const text = await readFile(join(dir, 'mirror-inventory.yaml'), 'utf8');
    const inventory = parseYaml(text) as ConfigMap;
    expect(inventory.metadata).toEqual({
      name: 'streamguard-mirror-inventory',
      namespace: 'streamguard',
      annotations: { [ANNOTATIONS.mirrorInventory]: registry.host },
    });
    expect(inventoryDigests(inventory)).toEqual(uniqueSorted(planned));
    expect(inventory.data?.digests).toBe(`${uniqueSorted(planned).join('\n')}\n`);

    // The engine: a disconnected cluster mirroring the release's components here.
    const mirror = `${registry.host}/full/openshift/release`;
    const withInventory = await stateDir('full', mirror, text);
    for (const stream of ['rhel-9', 'rhel-10']) {
      const d = await judge(withInventory, stream);
      expect(d.findings, stream).toEqual([]);
      expect(d.allowed).toBe(true);
    }
    const without = await stateDir('full-none', mirror);
    const d = await judge(without, 'rhel-10');
    expect(denied(d)).toEqual(['mirrored']);
    expect(d.findings[0]?.message).toContain(`${ART}@${release.digests['rhel-coreos-10']}`);
  });

  it('exits 1 when some are missing, lists them, and inventories only what is there (a tag moved to other content counts as missing)', async () => {
    const { files, dir } = await writePlan('partial');
    const planned = plannedImages(files);
    const pushed = await pushPlanned(client, release, files, (i) => i.stream !== 'rhel-10');
    const expectedMissing = planned.filter((i) => i.stream === 'rhel-10');
    expect(expectedMissing).toHaveLength(2);
    // Something else under the rhel-coreos-10 destination tag: verify asks by digest, not by tag.
    const impostor = buildImage({
      format: 'oci',
      layers: [gzip(tar([{ path: 'etc/impostor', contents: 'x' }]))],
    });
    const moved = expectedMissing[0]?.destination ?? '';
    await pushImage(
      client,
      moved.slice(0, moved.lastIndexOf(':')),
      moved.slice(moved.lastIndexOf(':') + 1),
      impostor,
    );

    const out = join(work, 'partial-inventory.yaml');
    const json = await runCli([
      'mirror',
      'verify',
      '--plan',
      dir,
      '--insecure-registry',
      registry.host,
      '--inventory-out',
      out,
      '-n',
      'mirror-check',
      '-o',
      'json',
    ]);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as {
      registry: string;
      images: number;
      present: number;
      missing: { destination: string; digest: string; stream: string }[];
      inventory: { path: string; namespace: string; digests: number };
      exitCode: number;
    };
    expect(report.registry).toBe(registry.host);
    expect(report.images).toBe(planned.length);
    expect(report.present).toBe(pushed.length);
    expect(report.missing.map((m) => m.destination)).toEqual(
      expectedMissing.map((i) => i.destination),
    );
    expect(report.missing.map((m) => m.digest)).toEqual(expectedMissing.map((i) => i.digest));
    expect(report.inventory).toMatchObject({ path: out, namespace: 'mirror-check' });
    expect(report.exitCode).toBe(1);

    const inventory = await readInventory(out);
    expect(inventory.metadata?.namespace).toBe('mirror-check');
    expect(inventoryDigests(inventory)).toEqual(uniqueSorted(pushed));
    expect(inventoryDigests(inventory)).not.toContain(impostor.digest);

    const text = await runCli([
      'mirror',
      'verify',
      '--plan',
      dir,
      '--insecure-registry',
      registry.host,
    ]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`${pushed.length} of ${planned.length} planned images present`);
    expect(text.stdout).toContain('missing (2):');
    for (const image of expectedMissing) {
      expect(text.stdout).toContain(`  ${image.destination} @ ${image.digest}`);
    }

    // rhel-9 is mirrored, rhel-10 is not.
    const state = await stateDir(
      'partial',
      `${registry.host}/partial/openshift/release`,
      await readFile(out, 'utf8'),
    );
    expect((await judge(state, 'rhel-9')).allowed).toBe(true);
    const d = await judge(state, 'rhel-10');
    expect(denied(d)).toEqual(['mirrored']);
    expect(d.findings[0]?.message).toContain('not in any mirror inventory');
  });

  it('sends one HEAD per distinct repository and digest, by digest, and nothing else', async () => {
    // Two releases' worth of destinations for the same digests: same repository, other tags.
    const { files, dir } = await writePlan('heads');
    await pushPlanned(client, release, files);
    const events: RequestEvent[] = [];
    const counted = new RegistryClient({
      insecureRegistries: [registry.host],
      onRequest: (e) => events.push(e),
    });
    try {
      const result = await verifyPlan(counted, dir, { concurrency: 4 });
      const planned = plannedImages(files);
      expect(result.missing).toEqual([]);
      expect(result.present.map((i) => i.destination)).toEqual(planned.map((i) => i.destination));
      expect(result.checked).toBe(new Set(planned.map((i) => i.digest)).size);
      const heads = events.filter((e) => e.kind === 'manifest');
      expect(heads).toHaveLength(result.checked);
      expect(
        heads.every((e) => e.method === 'HEAD' && /\/manifests\/sha256:[0-9a-f]{64}$/.test(e.url)),
      ).toBe(true);
      expect(events.filter((e) => e.kind !== 'manifest').map((e) => e.kind)).toEqual(['ping']);
    } finally {
      await counted.close();
    }
  });

  it('exits 3 when the registry cannot be reached, and writes no inventory', async () => {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const { dir } = await writePlan('down', `${host}/ocp`);
    const result = await runCli(['mirror', 'verify', '--plan', dir, '--insecure-registry', host]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^streamguard: failed: .*127\.0\.0\.1:\d+/);
    await expect(readFile(join(dir, 'mirror-inventory.yaml'))).rejects.toThrow(/ENOENT/);
  });

  it('exits 2 on bad input: no plan, a malformed images.json, bad options', async () => {
    const none = await runCli(['mirror', 'verify', '--plan', join(work, 'no-such-plan')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('images.json not found');

    const broken = join(work, 'broken-plan');
    await mkdir(broken, { recursive: true });
    await writeFile(
      join(broken, 'images.json'),
      '{"to": "r.example.com/x", "images": [{"destination": 1}]}',
    );
    const bad = await runCli(['mirror', 'verify', '--plan', broken]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('images[0]');

    const zero = await runCli(['mirror', 'verify', '--plan', broken, '--concurrency', '0']);
    expect(zero.code).toBe(2);
    const missingPlan = await runCli(['mirror', 'verify']);
    expect(missingPlan.code).toBe(2);
    expect(missingPlan.stderr).toContain('--plan');
    const badNamespace = await runCli([
      'mirror',
      'verify',
      '--plan',
      broken,
      '-n',
      'Not_A_Namespace',
    ]);
    expect(badNamespace.code).toBe(2);
    expect(badNamespace.stderr).toContain('namespace "Not_A_Namespace"');
  });
});
