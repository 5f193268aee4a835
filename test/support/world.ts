// A small cluster built from the real upstream fixtures, for engine and CLI tests.
import { readFileSync } from 'node:fs';
import { parseAllDocuments, parse } from 'yaml';
import type { ConfigMap, HostedCluster, KubeObject, NodePool } from '../../src/k8s/objects.js';
import { ANNOTATIONS } from '../../src/engine/types.js';
import { ClusterState } from '../../src/state/index.js';
import { StateReleaseCatalog } from '../../src/state/releases.js';
import { defaultPolicy } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/types.js';
import type { DecisionContext } from '../../src/engine/types.js';

export const FIXTURES = new URL('../fixtures/upstream/', import.meta.url);

export function fixtureText(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

export function fixtureDocs(name: string): KubeObject[] {
  return parseAllDocuments(fixtureText(name)).map((d) => d.toJS() as KubeObject);
}

/** Release pullspecs used across tests. */
export const R50 = 'quay.io/openshift-release-dev/ocp-release:5.0.0-ec.2-x86_64';
export const R421 = 'quay.io/openshift-release-dev/ocp-release:4.21.0-x86_64';
export const R417 = 'quay.io/openshift-release-dev/ocp-release:4.17.0-rc.0-x86_64';

/** The NodePool kind and resource as an AdmissionReview names them. */
export const NODEPOOL_KIND = {
  group: 'hypershift.openshift.io',
  version: 'v1beta1',
  kind: 'NodePool',
};
export const NODEPOOL_RESOURCE = {
  group: 'hypershift.openshift.io',
  version: 'v1beta1',
  resource: 'nodepools',
};

export interface SuiteCase {
  name: string;
  operation: 'CREATE' | 'UPDATE';
  /** The NodePool as YAML text: the object created, or the old object of an update. */
  initial: string;
  updated?: string;
}

/** Upstream's CRD test suite for osImageStream: its create cases, then its update cases. */
export function osImageStreamSuite(): SuiteCase[] {
  const suite = parse(fixtureText('hypershift-nodepools-osimagestream.testsuite.yaml')) as {
    tests: { onCreate: Omit<SuiteCase, 'operation'>[]; onUpdate: Omit<SuiteCase, 'operation'>[] };
  };
  return [
    ...suite.tests.onCreate.map((c) => ({ ...c, operation: 'CREATE' as const })),
    ...suite.tests.onUpdate.map((c) => ({ ...c, operation: 'UPDATE' as const })),
  ];
}

export const DIGESTS = {
  'rhel-coreos': `sha256:${'1'.repeat(64)}`,
  'rhel-coreos-extensions': `sha256:${'2'.repeat(64)}`,
  'rhel-coreos-10': `sha256:${'3'.repeat(64)}`,
  'rhel-coreos-10-extensions': `sha256:${'4'.repeat(64)}`,
} as const;
export const ART = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev';

function annotate<T extends KubeObject>(obj: T, pullspec: string): T {
  return {
    ...obj,
    metadata: { ...obj.metadata, annotations: { [ANNOTATIONS.releaseImage]: pullspec } },
  };
}

/**
 * The 5.0.0-ec.2 payload's boot images (upstream fixture) and the MCO's image-references with the
 * placeholders replaced by digest pullspecs, as release tooling does when it builds a payload.
 */
export function releaseObjects(): KubeObject[] {
  const bootimages50 = parse(
    fixtureText('hypershift-fixture-5.0-coreos-bootimages-configmap.yaml'),
  ) as ConfigMap;
  const bootimages410 = parse(
    fixtureText('hypershift-fixture-4.10-coreos-bootimages-configmap.yaml'),
  ) as ConfigMap;
  const refs = fixtureText('mco-image-references.yaml').replace(
    /placeholder\.url\.oc\.will\.replace\.this\.org\/placeholdernamespace:([a-z0-9-]+)/g,
    (_m, tag: string) => {
      const key =
        tag === 'rhel10-coreos'
          ? 'rhel-coreos-10'
          : tag === 'rhel10-coreos-extensions'
            ? 'rhel-coreos-10-extensions'
            : tag;
      const digest = (DIGESTS as Record<string, string>)[key] ?? `sha256:${'9'.repeat(64)}`;
      return `${ART}@${digest}`;
    },
  );
  const imageStream = parse(refs) as KubeObject;
  return [
    annotate(bootimages50, R50),
    annotate({ ...imageStream, metadata: { name: 'image-references' } }, R50),
    annotate(bootimages410, R421),
  ];
}

export function hostedCluster(overrides: Partial<HostedCluster['spec']> = {}): HostedCluster {
  const hc = fixtureDocs('hypershift-sample-aws-hostedcluster-nodepool.yaml').find(
    (o) => o.kind === 'HostedCluster',
  ) as HostedCluster;
  return { ...hc, spec: { ...hc.spec, release: { image: R50 }, ...overrides } };
}

export interface PoolOptions {
  name?: string;
  release?: string;
  stream?: string;
  status?: string;
  upgradeType?: 'Replace' | 'InPlace';
  config?: string[];
  arch?: string;
  annotations?: Record<string, string>;
  platform?: Record<string, unknown>;
}

/** A NodePool shaped like the upstream sample (`hypershift create cluster aws`). */
export function nodePool(o: PoolOptions = {}): NodePool {
  const sample = fixtureDocs('hypershift-sample-aws-hostedcluster-nodepool.yaml').find(
    (obj) => obj.kind === 'NodePool',
  ) as NodePool;
  const spec: Record<string, unknown> = {
    ...sample.spec,
    arch: o.arch ?? 'amd64',
    release: { image: o.release ?? R50 },
    management: { autoRepair: false, upgradeType: o.upgradeType ?? 'Replace' },
  };
  if (o.platform) spec.platform = o.platform;
  if (o.config) spec.config = o.config.map((name) => ({ name }));
  if (o.stream !== undefined) spec.osImageStream = { name: o.stream };
  const pool: NodePool = {
    apiVersion: 'hypershift.openshift.io/v1beta1',
    kind: 'NodePool',
    metadata: {
      name: o.name ?? 'workers',
      namespace: 'clusters',
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: spec as NodePool['spec'],
  };
  if (o.status) pool.status = { osImageStream: { name: o.status } };
  return pool;
}

export function configMap(name: string, config: string): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'clusters' },
    data: { config },
  };
}

export const RUNC_CRC = `apiVersion: machineconfiguration.openshift.io/v1
kind: ContainerRuntimeConfig
metadata:
  name: use-runc
spec:
  containerRuntimeConfig:
    defaultRuntime: runc
`;

/**
 * A MachineConfig whose Ignition config writes a CRI-O drop-in setting `default_runtime`, with
 * the file contents as a data URL (percent-encoded, or base64 as Ignition configs often carry).
 */
export function crioDropInMachineConfig(
  name: string,
  runtime: string,
  path: string,
  encoding: 'percent' | 'base64' = 'percent',
): string {
  const toml = `[crio.runtime]\ndefault_runtime = "${runtime}"\n`;
  const source =
    encoding === 'base64'
      ? `data:text/plain;charset=utf-8;base64,${Buffer.from(toml).toString('base64')}`
      : `data:,${encodeURIComponent(toml)}`;
  return `apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  name: ${name}
spec:
  config:
    ignition:
      version: 3.2.0
    storage:
      files:
      - path: ${path}
        mode: 420
        contents:
          source: ${source}
`;
}

export const CRUN_CRC = RUNC_CRC.replace('name: use-runc', 'name: use-crun').replace(
  'defaultRuntime: runc',
  'defaultRuntime: crun',
);

export function world(
  objects: KubeObject[] = [],
  policy: Policy = defaultPolicy(),
): DecisionContext {
  const defaultCluster = objects.some((o) => o.kind === 'HostedCluster') ? [] : [hostedCluster()];
  const all = [...defaultCluster, ...releaseObjects(), ...objects];
  return { policy, releases: new StateReleaseCatalog(all), cluster: new ClusterState(all) };
}

export function request(
  operation: 'CREATE' | 'UPDATE' | 'DELETE',
  object: KubeObject | null,
  oldObject: KubeObject | null = null,
  kind = { group: 'hypershift.openshift.io', version: 'v1beta1', kind: 'NodePool' },
) {
  const meta = (object ?? oldObject)?.metadata;
  return {
    uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
    kind,
    operation,
    namespace: meta?.namespace ?? 'clusters',
    name: meta?.name,
    object,
    oldObject,
  };
}
