// The offline-state objects `release fetch` writes (pure): names, annotations, and a round trip
// through the state parser into the release catalog the engine reads.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { ConfigMap } from '../../src/k8s/objects.js';
import {
  releaseStateFileName,
  releaseStateObjects,
  renderReleaseStateFile,
  stateFileDigest,
} from '../../src/release/state-objects.js';
import { parseManifests } from '../../src/state/parse.js';
import { StateReleaseCatalog } from '../../src/state/releases.js';

const FIXTURES = new URL('../fixtures/upstream/', import.meta.url);
const PULLSPEC = 'mirror.example.com:5000/ocp/release:5.0.0-ec.2-x86_64';
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const bootImages = parse(
  readFileSync(
    new URL('hypershift-fixture-5.0-coreos-bootimages-configmap.yaml', FIXTURES),
    'utf8',
  ),
) as ConfigMap;
const imageReferences = {
  kind: 'ImageStream',
  apiVersion: 'image.openshift.io/v1',
  metadata: { name: '5.0.0-ec.2', annotations: { 'release.openshift.io/from-release': 'x' } },
  spec: {
    tags: [
      {
        name: 'rhel-coreos',
        from: { kind: 'DockerImage', name: `q.io/a/b@sha256:${'1'.repeat(64)}` },
      },
      {
        name: 'rhel-coreos-10',
        from: { kind: 'DockerImage', name: `q.io/a/b@sha256:${'2'.repeat(64)}` },
      },
    ],
  },
};

describe('release state objects', () => {
  it('names the file by tag, else by digest', () => {
    expect(releaseStateFileName(PULLSPEC, DIGEST)).toBe('5.0.0-ec.2-x86_64.yaml');
    expect(releaseStateFileName(`mirror.example.com:5000/ocp/release@${DIGEST}`, DIGEST)).toBe(
      `${'ab'.repeat(32)}.yaml`,
    );
    expect(releaseStateFileName(`localhost:5000/r:4.21.0-multi@${DIGEST}`, DIGEST)).toBe(
      '4.21.0-multi.yaml',
    );
  });

  it('annotates the ConfigMap and the ImageStream with the pullspec, keeping the payload data', () => {
    const [cm, stream] = releaseStateObjects({
      pullspec: PULLSPEC,
      digest: DIGEST,
      version: 'v',
      bootImages,
      imageReferences,
    });
    expect(cm).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'coreos-bootimages',
        namespace: 'openshift-machine-config-operator',
        annotations: { 'streamguard.io/release-image': PULLSPEC },
      },
      data: bootImages.data,
    });
    expect(stream?.metadata?.annotations).toEqual({
      'release.openshift.io/from-release': 'x',
      'streamguard.io/release-image': PULLSPEC,
    });
    expect(
      releaseStateObjects({ pullspec: PULLSPEC, digest: DIGEST, version: 'v', imageReferences }),
    ).toHaveLength(1);
  });

  it('renders a file the state loader reads back into the same release data', () => {
    const text = renderReleaseStateFile({
      pullspec: PULLSPEC,
      digest: DIGEST,
      version: '5.0.0-ec.2',
      bootImages,
      imageReferences,
    });
    expect(stateFileDigest(text)).toBe(DIGEST);
    // Block scalars stay literal (`|-`), never folded, so the JSON reads back byte for byte.
    expect(text).not.toMatch(/: >[-+]?\n/);
    const objects = parseManifests(text, 'release.yaml');
    expect(objects.map((o) => o.kind)).toEqual(['ConfigMap', 'ImageStream']);
    expect((objects[0] as ConfigMap).data).toEqual(bootImages.data);
    const info = new StateReleaseCatalog(objects).release(PULLSPEC);
    expect(info.source).toBe('release');
    expect(info.version?.raw).toBe('5.0.0-ec.2');
    expect(info.bootImages.streams).toEqual(['rhel-9', 'rhel-10']);
    expect(info.nodeImages?.get('rhel-10')?.os).toBe(`q.io/a/b@sha256:${'2'.repeat(64)}`);
  });
});
