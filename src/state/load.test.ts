import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateError } from './errors.js';
import { loadState, loadStateDir } from './load.js';

const fixture = (path: string) =>
  fileURLToPath(new URL(`../../test/fixtures/${path}`, import.meta.url));
const AWS = fixture('state/aws-5.0');
const PULLSPEC = 'quay.io/openshift-release-dev/ocp-release:5.0.0-ec.2-x86_64';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'streamguard-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(path: string, text: string | Buffer): Promise<string> {
  const full = join(dir, path);
  await mkdir(join(full, '..'), { recursive: true });
  await writeFile(full, text);
  return full;
}

async function loadError(path = dir): Promise<StateError> {
  const err: unknown = await loadStateDir(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StateError);
  return err as StateError;
}

const configMap = (name: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: n\n`;

describe('loadStateDir', () => {
  it('loads the aws-5.0 fixture: nested dirs, a List, JSON, release data and an inventory', async () => {
    const { cluster, releases, files } = await loadStateDir(AWS);
    expect(files.map((f) => f.slice(AWS.length + 1))).toEqual([
      'clusters/configmaps/rhel10-config.json',
      'clusters/example.yaml',
      'clusters/idms.yml',
      'mirror/inventory.yaml',
      'releases/5.0.0-ec.2/coreos-bootimages.yaml',
    ]);
    expect(cluster.hostedCluster('clusters', 'example')?.spec?.release?.image).toBe(PULLSPEC);
    expect(
      cluster.nodePoolsReferencing('clusters', 'rhel10-config').map((p) => p.metadata?.name),
    ).toEqual(['example-fakeName', 'example-us-east-1a']);
    expect(cluster.configMap('clusters', 'rhel10-config')?.data?.config).toContain('rhel-10');
    expect(cluster.imageDigestMirrorSets().map((i) => i.metadata?.name)).toEqual(['release']);
    expect(cluster.mirroredDigest(`sha256:${'1'.repeat(64)}`)).toBe(true);
    expect(cluster.nodePoolCrdHasOsImageStream()).toBe(true);
    // Release data is the catalog's, not a cluster ConfigMap.
    expect(cluster.configMap('openshift-machine-config-operator', 'coreos-bootimages')).toBe(
      undefined,
    );
    expect(releases.release(PULLSPEC)).toMatchObject({
      source: 'release',
      versionFrom: 'releaseVersion',
      version: { major: 5, minor: 0 },
    });
  });

  it('reads the NodePool CRD from the state', async () => {
    const crd = async (file: string) => {
      await rm(dir, { recursive: true, force: true });
      await mkdir(join(dir, 'crds'), { recursive: true });
      await copyFile(fixture(`upstream/${file}`), join(dir, 'crds', file));
      return (await loadStateDir(dir)).cluster.nodePoolCrdHasOsImageStream();
    };
    expect(await crd('hypershift-nodepools-Default.crd.yaml')).toBe(false);
    expect(await crd('hypershift-nodepools-TechPreviewNoUpgrade.crd.yaml')).toBe(true);
  });

  it('loads in sorted order and skips dotfiles, dot dirs and other extensions', async () => {
    await write('b.yml', configMap('b'));
    await write('A.JSON', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace' }));
    await write('a/z.yaml', configMap('z'));
    await write('.hidden.yaml', 'not: [valid');
    await write('.git/config.yaml', 'not: [valid');
    await write('notes.txt', 'not: [valid');
    const { files, cluster } = await loadStateDir(dir);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['A.JSON', 'a/z.yaml', 'b.yml']);
    expect(cluster.objects().map((o) => o.metadata?.name ?? o.kind)).toEqual([
      'z',
      'b',
      'Namespace',
    ]);
  });

  it('follows symlinks, as in a mounted ConfigMap volume', async () => {
    await write('..data/cm.yaml', configMap('mounted'));
    await symlink(join(dir, '..data/cm.yaml'), join(dir, 'cm.yaml'));
    await symlink(dir, join(dir, 'loop'));
    const { cluster, files } = await loadStateDir(dir);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['cm.yaml']);
    expect(cluster.configMap('n', 'mounted')).toBeDefined();
  });

  it('names both files when an object is defined twice', async () => {
    const first = await write('one.yaml', configMap('a'));
    const second = await write('sub/two.yaml', `${configMap('b')}---\n${configMap('a')}`);
    expect((await loadError()).message).toBe(
      `ConfigMap n/a (${second}: document 2): duplicate object: also defined in ${first}: document 1 (each kind/namespace/name may appear once)`,
    );
  });

  it('names the file and line of a YAML error', async () => {
    const file = await write('bad.yaml', `${configMap('a')}data:\n\tx: 1\n`);
    expect((await loadError()).message).toBe(`${file}:7:1: Tabs are not allowed as indentation`);
  });

  it('names the file of text that is not UTF-8', async () => {
    const file = await write('latin1.yaml', Buffer.from('kind: ConfigMap\nx: caf\xe9\n', 'latin1'));
    expect((await loadError()).message).toBe(`${file}: line 2: not valid UTF-8 text`);
  });

  it('names a missing directory, a file given as the directory, and a broken link', async () => {
    const missing = join(dir, 'nope');
    expect((await loadError(missing)).message).toBe(
      `${missing}: cannot read state directory: no such file or directory`,
    );
    const file = await write('x.yaml', configMap('x'));
    expect((await loadError(file)).message).toBe(`${file}: state path is not a directory`);
    await symlink(join(dir, 'gone.yaml'), join(dir, 'link.yaml'));
    expect((await loadError()).message).toBe(
      `${join(dir, 'link.yaml')}: cannot read: no such file or directory`,
    );
  });
});

describe('loadState', () => {
  it('without a directory: an empty cluster and the embedded catalog', async () => {
    const { cluster, releases, files } = await loadState(undefined);
    expect(files).toEqual([]);
    expect(cluster.objects()).toEqual([]);
    expect(cluster.nodePoolCrdHasOsImageStream()).toBe(true);
    expect(releases.release(PULLSPEC)).toMatchObject({ source: 'embedded', versionFrom: 'tag' });
  });

  it('with a directory: the same as loadStateDir', async () => {
    expect((await loadState(AWS)).files).toHaveLength(5);
  });
});
