import { describe, expect, it } from 'vitest';
import { mirrorSetsFromConfig } from './mirrors.js';

const idms = `apiVersion: config.openshift.io/v1
kind: ImageDigestMirrorSet
metadata: {name: release}
spec:
  imageDigestMirrors:
    - source: quay.io/openshift-release-dev/ocp-v4.0-art-dev
      mirrors: [mirror.example:5000/openshift/release]
`;
const icsp = `apiVersion: operator.openshift.io/v1alpha1
kind: ImageContentSourcePolicy
metadata: {name: legacy}
spec:
  repositoryDigestMirrors:
    - source: quay.io/openshift-release-dev/ocp-release
      mirrors: [mirror.example:5000/openshift/release-images, 7]
    - bogus
`;

describe('mirrorSetsFromConfig', () => {
  it('returns IDMS objects and ICSPs converted to IDMS, in ConfigMap order', () => {
    const sets = mirrorSetsFromConfig([
      { name: 'a', data: { config: icsp } },
      { name: 'b', data: { config: `${idms}---\nkind: KubeletConfig\n` } },
      { name: 'c' },
    ]);
    expect(sets).toEqual([
      {
        apiVersion: 'config.openshift.io/v1',
        kind: 'ImageDigestMirrorSet',
        metadata: { name: 'legacy' },
        spec: {
          imageDigestMirrors: [
            {
              source: 'quay.io/openshift-release-dev/ocp-release',
              mirrors: ['mirror.example:5000/openshift/release-images'],
            },
          ],
        },
      },
      expect.objectContaining({ kind: 'ImageDigestMirrorSet', metadata: { name: 'release' } }),
    ]);
  });

  it('ignores ImageTagMirrorSets (HyperShift rejects them in spec.config) and broken YAML', () => {
    const itms = idms.replace('ImageDigestMirrorSet', 'ImageTagMirrorSet');
    expect(mirrorSetsFromConfig([{ name: 'a', data: { config: `${itms}---\nkind: [` } }])).toEqual(
      [],
    );
  });
});
