// Upstream data files for the tests: the repository's copies in test/fixtures/upstream first, then
// the full upstream fixture set kept next to the repository (../shared/fixtures/upstream), which
// also holds the HostedCluster and mirror-set CRDs.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from './resources.js';

const PLACES = [
  new URL('../fixtures/upstream/', import.meta.url),
  new URL('../../../shared/fixtures/upstream/', import.meta.url),
];

export function upstreamText(name: string): string {
  for (const dir of PLACES) {
    const file = new URL(name, dir);
    if (existsSync(file)) return readFileSync(file, 'utf8');
  }
  throw new Error(
    `upstream fixture ${name} not found in ${PLACES.map((p) => fileURLToPath(p)).join(' or ')}`,
  );
}

/** Every YAML document of a file, as plain objects; throws naming the file on a syntax error. */
export function yamlObjects(text: string, where: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((doc, i) => {
    if (doc.errors.length > 0) {
      throw new Error(`${where}: YAML document ${i + 1}: ${doc.errors[0]?.message ?? 'error'}`);
    }
    const value = doc.toJS() as unknown;
    return value === null || value === undefined ? [] : [value as KubeObject];
  });
}

export function upstreamObjects(name: string): KubeObject[] {
  return yamlObjects(upstreamText(name), name);
}

/** The CRDs the client layer watches, from the real upstream manifests. */
export const UPSTREAM_CRDS = [
  'hypershift-nodepools-TechPreviewNoUpgrade.crd.yaml',
  'hypershift-hostedclusters-TechPreviewNoUpgrade.crd.yaml',
  'openshift-api-imagedigestmirrorsets.crd.yaml',
  'openshift-api-imagetagmirrorsets.crd.yaml',
];

export const SAMPLE = 'hypershift-sample-aws-hostedcluster-nodepool.yaml';

/**
 * The NodePool of the upstream `hypershift create cluster aws` golden file, made valid: that file is
 * rendered, never applied, and its CRD rejects it (a name with capitals, an empty release image, a
 * fake subnet id that neither starts with `subnet-` nor comes with filters). No status: a manifest
 * in Git has none.
 */
export function samplePool(name: string, namespace = 'clusters'): KubeObject {
  const pool = upstreamObjects(SAMPLE).find((o) => o.kind === 'NodePool');
  if (pool === undefined) throw new Error(`${SAMPLE} has no NodePool`);
  const { status: _status, ...rest } = pool;
  const spec = structuredClone(rest.spec) as {
    release: { image: string };
    platform: { aws: { subnet: { id: string } } };
  };
  spec.release.image = 'quay.io/openshift-release-dev/ocp-release:4.21.0-x86_64';
  spec.platform.aws.subnet.id = 'subnet-0123456789abcdef0';
  return { ...rest, metadata: { name, namespace }, spec };
}
