import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { loadEmbeddedCatalog } from '../catalog/embedded.js';
import type { ConfigMap, KubeObject } from '../k8s/objects.js';
import { StateError } from './errors.js';
import { parseManifests } from './parse.js';
import { StateReleaseCatalog } from './releases.js';

const TAG = 'quay.io/openshift-release-dev/ocp-release:5.0.0-ec.2-x86_64';
const DIGEST = `quay.io/openshift-release-dev/ocp-release@sha256:${'e'.repeat(64)}`;

function upstream(name: string, file = name): KubeObject {
  const text = readFileSync(
    new URL(`../../test/fixtures/upstream/${name}`, import.meta.url),
    'utf8',
  );
  const [obj] = parseManifests(text, file);
  return obj as KubeObject;
}

/** The upstream 5.0 boot images ConfigMap as release data for `pullspec`. */
function bootImages(pullspec: string, file = 'bootimages.yaml', releaseVersion?: string) {
  const cm = upstream('hypershift-fixture-5.0-coreos-bootimages-configmap.yaml', file) as ConfigMap;
  cm.metadata = { ...cm.metadata, annotations: { 'streamguard.io/release-image': pullspec } };
  if (releaseVersion !== undefined) cm.data = { ...cm.data, releaseVersion };
  return cm;
}

function imageReferences(pullspec: string): KubeObject {
  const stream = upstream('mco-image-references.yaml');
  stream.metadata = { annotations: { 'streamguard.io/release-image': pullspec } };
  return stream;
}

describe('StateReleaseCatalog', () => {
  it('serves a release from its boot images ConfigMap in the state', () => {
    const info = new StateReleaseCatalog([bootImages(TAG)]).release(TAG);
    expect(info).toMatchObject({
      pullspec: TAG,
      source: 'release',
      versionFrom: 'releaseVersion',
      version: { major: 5, minor: 0, raw: '5.0.0-ec.2' },
    });
    expect(info.bootImages.streams).toEqual(['rhel-9', 'rhel-10']);
    expect(info.bootImages.multiStream).toBe(true);
    expect(info.nodeImages).toBeUndefined();
  });

  it('matches the exact pullspec, trimmed: a digest of the same release is another release', () => {
    const catalog = new StateReleaseCatalog([bootImages(`  ${TAG}\n`)]);
    expect(catalog.pullspecs()).toEqual([TAG]);
    expect(catalog.release(` ${TAG} `).source).toBe('release');
    expect(catalog.release(DIGEST).source).toBe('embedded');
    expect(catalog.release(TAG.replace('x86_64', 'multi')).source).toBe('embedded');
  });

  it('takes the version from the tag when releaseVersion is unusable', () => {
    const catalog = new StateReleaseCatalog([
      bootImages(TAG, 'a.yaml', '0.0.1-snapshot'),
      bootImages(DIGEST, 'b.yaml', '0.0.1-snapshot'),
    ]);
    expect(catalog.release(TAG)).toMatchObject({
      source: 'release',
      versionFrom: 'tag',
      version: { major: 5, minor: 0 },
    });
    const byDigest = catalog.release(DIGEST);
    expect(byDigest).toMatchObject({ source: 'release', versionFrom: 'none' });
    expect(byDigest.version).toBeUndefined();
  });

  it('holds several releases whose ConfigMaps share a name', () => {
    const other = 'quay.io/openshift-release-dev/ocp-release:5.1.0-x86_64';
    const catalog = new StateReleaseCatalog([
      bootImages(TAG, 'a.yaml'),
      bootImages(other, 'b.yaml', '5.1.0'),
    ]);
    expect(catalog.pullspecs()).toEqual([TAG, other]);
    expect(catalog.release(other).version?.raw).toBe('5.1.0');
  });

  it('rejects two release data sets for one pullspec, naming both', () => {
    const run = () =>
      new StateReleaseCatalog([bootImages(TAG, 'a.yaml'), bootImages(` ${TAG}`, 'b.yaml')]);
    expect(run).toThrow(StateError);
    expect(run).toThrow(
      `ConfigMap openshift-machine-config-operator/coreos-bootimages (b.yaml: document 1): second bootimages data for release ${TAG}; the first is a.yaml: document 1`,
    );
  });

  it('reads node images from the release image-references ImageStream', () => {
    const info = new StateReleaseCatalog([bootImages(TAG), imageReferences(TAG)]).release(TAG);
    const prefix = 'placeholder.url.oc.will.replace.this.org/placeholdernamespace:';
    expect(Object.fromEntries(info.nodeImages ?? [])).toEqual({
      'rhel-9': { os: `${prefix}rhel-coreos`, extensions: `${prefix}rhel-coreos-extensions` },
      'rhel-10': { os: `${prefix}rhel10-coreos`, extensions: `${prefix}rhel10-coreos-extensions` },
    });
  });

  it('with image-references only, boot images still come from the embedded catalog', () => {
    const embedded = loadEmbeddedCatalog();
    const info = new StateReleaseCatalog([imageReferences(TAG)], {
      embedded: () => embedded,
    }).release(TAG);
    expect(info).toMatchObject({ source: 'embedded', versionFrom: 'tag' });
    expect(info.bootImages).toBe(embedded);
    expect(info.nodeImages?.get('rhel-10')?.os).toMatch(/rhel10-coreos$/);
  });

  it('falls back to the embedded catalog, with the version from the tag', () => {
    const catalog = new StateReleaseCatalog();
    const info = catalog.release('quay.io/openshift-release-dev/ocp-release:4.21.3-x86_64');
    expect(info).toMatchObject({
      source: 'embedded',
      versionFrom: 'tag',
      version: { major: 4, minor: 21 },
    });
    expect(info.bootImages).toBe(loadEmbeddedCatalog());
    expect(info.bootImages.streams).toContain('rhel-9');
    const bare = catalog.release(DIGEST);
    expect(bare).toMatchObject({ source: 'embedded', versionFrom: 'none' });
    expect(bare.version).toBeUndefined();
  });

  it('memoises ReleaseInfo and loads the embedded catalog only when needed', () => {
    const embedded = vi.fn(loadEmbeddedCatalog);
    const catalog = new StateReleaseCatalog([bootImages(TAG)], { embedded });
    expect(catalog.release(TAG)).toBe(catalog.release(` ${TAG}`));
    expect(embedded).not.toHaveBeenCalled();
    expect(catalog.release(DIGEST)).toBe(catalog.release(DIGEST));
    expect(embedded).toHaveBeenCalledTimes(1);
  });

  it('reports malformed release data as a StateError naming the object', () => {
    const cm = bootImages(TAG, 'broken.yaml');
    cm.data = { releaseVersion: '5.0.0' };
    expect(() => new StateReleaseCatalog([cm])).toThrow(StateError);
    expect(() => new StateReleaseCatalog([cm])).toThrow(
      /^ConfigMap openshift-machine-config-operator\/coreos-bootimages \(broken\.yaml: document 1\) data: /,
    );
    const empty = bootImages('  ', 'blank.yaml');
    expect(() => new StateReleaseCatalog([empty])).toThrow(
      /blank\.yaml: document 1\): annotation streamguard\.io\/release-image must be the release pullspec$/,
    );
  });

  it('ignores objects without the annotation, whatever their name', () => {
    const plain = upstream('hypershift-fixture-5.0-coreos-bootimages-configmap.yaml');
    expect(new StateReleaseCatalog([plain]).pullspecs()).toEqual([]);
  });
});
