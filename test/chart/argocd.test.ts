// The Argo CD example (examples/argocd): every file parses, the Kubernetes objects are valid
// against the real schemas, the NodePools against the upstream NodePool CRD, and the PreSync
// hook checks exactly the batch the application applies, before it applies any of it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { crdValidator } from '../../src/k8s/crd-schema.js';
import { runCli } from '../support/cli.js';
import { isBuiltinKind, k8sProblems } from './k8s-schemas.js';
import { REPO, type K8sObject } from './render.js';

const EXAMPLE = join(REPO, 'examples/argocd');
const APP = join(EXAMPLE, 'nodepools-app');
const CRD = join(REPO, 'test/fixtures/upstream/hypershift-nodepools-TechPreviewNoUpgrade.crd.yaml');

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
}

function readYaml(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).flatMap((doc) => {
    if (doc.errors.length > 0)
      throw new Error(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as K8sObject | null;
    return value === null ? [] : [value];
  });
}

interface Kustomization {
  namespace: string;
  resources: string[];
  configMapGenerator: {
    name: string;
    files: string[];
    options: { disableNameSuffixHash: boolean; annotations: Record<string, string> };
  }[];
}

/** What `kustomize build` makes of nodepools-app: the resources in the namespace, and the
 * generated ConfigMaps (a key per file, named by its base name). */
function build(): { kustomization: Kustomization; objects: K8sObject[] } {
  const kustomization = readYaml(join(APP, 'kustomization.yaml'))[0] as unknown as Kustomization;
  const objects = kustomization.resources.flatMap((file) => readYaml(join(APP, file)));
  for (const gen of kustomization.configMapGenerator) {
    expect(gen.options.disableNameSuffixHash, 'the Job mounts the ConfigMap by its name').toBe(
      true,
    );
    objects.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: gen.name, annotations: gen.options.annotations },
      data: Object.fromEntries(
        gen.files.map((f) => [basename(f), readFileSync(join(APP, f), 'utf8')]),
      ),
    });
  }
  for (const o of objects) {
    const clusterScoped = o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding';
    if (!clusterScoped) o.metadata.namespace = kustomization.namespace;
  }
  return { kustomization, objects };
}

const hook = (o: K8sObject) => o.metadata.annotations?.['argocd.argoproj.io/hook'];
const wave = (o: K8sObject) =>
  Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);

describe('Argo CD example', () => {
  const files = walk(EXAMPLE);
  const { kustomization, objects } = build();
  const jobs = objects.filter((o) => o.kind === 'Job');
  const job = jobs[0] as K8sObject;
  const podSpec = (job.spec as { template: { spec: PodSpec } }).template.spec;

  it('parses every YAML file, and every file of the application is part of its build', () => {
    const yamlFiles = files.filter((f) => /\.ya?ml$/.test(f));
    expect(yamlFiles.length).toBeGreaterThanOrEqual(6);
    for (const f of yamlFiles) expect(readYaml(f).length, f).toBeGreaterThan(0);
    const inApp = yamlFiles
      .filter((f) => f.startsWith(`${APP}/`) && basename(f) !== 'kustomization.yaml')
      .map((f) => relative(APP, f))
      .sort();
    expect([...kustomization.resources].sort()).toEqual(inApp);
  });

  it('has only valid Kubernetes objects, and NodePools valid against the upstream CRD', () => {
    const validateNodePool = crdValidator(readYaml(CRD)[0], 'v1beta1');
    const nodePools = objects.filter((o) => o.kind === 'NodePool');
    expect(nodePools.length).toBeGreaterThanOrEqual(2);
    for (const pool of nodePools) {
      expect(validateNodePool(pool), JSON.stringify(validateNodePool.errors)).toBe(true);
    }
    const builtin = objects.filter(isBuiltinKind);
    expect(builtin.map((o) => o.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'Job',
      'ServiceAccount',
    ]);
    expect(builtin.flatMap(k8sProblems)).toEqual([]);
    expect(objects.filter((o) => !isBuiltinKind(o) && o.kind !== 'NodePool')).toEqual([]);
  });

  it('checks exactly the NodePools the application applies, as one batch', () => {
    const applied = kustomization.resources.filter((f) =>
      readYaml(join(APP, f)).some((o) => o.kind === 'NodePool'),
    );
    const input = kustomization.configMapGenerator.find((g) =>
      podSpec.volumes.some((v) => v.configMap?.name === g.name),
    );
    expect(input?.files.sort()).toEqual(applied.sort());
    expect(jobs).toHaveLength(1);
    const container = podSpec.containers[0] as Container;
    const command = [...(container.command ?? []), ...(container.args ?? [])].join(' ');
    const mount = container.volumeMounts.find((m) =>
      podSpec.volumes.some((v) => v.name === m.name && v.configMap?.name === input?.name),
    );
    // One invocation over every file of the mounted input, against the live cluster.
    expect(command).toBe(`streamguard check --in-cluster ${mount?.mountPath}`);
    for (const f of input?.files ?? []) expect(basename(f)).toMatch(/\.yaml$/);
  });

  it('runs the check as a PreSync hook after its input and RBAC, failing the sync on a denial', () => {
    const hooks = objects.filter((o) => hook(o) !== undefined);
    expect(hooks.every((o) => hook(o) === 'PreSync')).toBe(true);
    for (const o of hooks.filter((h) => h !== job))
      expect(wave(o), o.metadata.name).toBeLessThan(wave(job));
    const input = objects.find((o) => o.kind === 'ConfigMap') as K8sObject;
    expect(hook(input)).toBe('PreSync');
    // NodePools are not hooks: they are applied only after every PreSync hook succeeded.
    expect(objects.filter((o) => o.kind === 'NodePool').map(hook)).toEqual([undefined, undefined]);
    const spec = job.spec as { backoffLimit: number };
    expect(spec.backoffLimit).toBe(0);
    expect(podSpec.restartPolicy).toBe('Never');
    expect(job.metadata.annotations?.['argocd.argoproj.io/hook-delete-policy']).toMatch(
      /BeforeHookCreation/,
    );
  });

  it('gives the Job read-only access and a restricted pod', () => {
    const binding = objects.find((o) => o.kind === 'ClusterRoleBinding') as unknown as {
      roleRef: { name: string };
      subjects: { name: string; namespace: string }[];
    };
    expect(binding.subjects).toEqual([
      {
        kind: 'ServiceAccount',
        name: podSpec.serviceAccountName,
        namespace: kustomization.namespace,
      },
    ]);
    const role = objects.find(
      (o) => o.kind === 'ClusterRole' && o.metadata.name === binding.roleRef.name,
    ) as unknown as {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    for (const rule of role.rules) {
      expect(rule.verbs.every((v) => ['get', 'list', 'watch'].includes(v))).toBe(true);
      expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*');
      if (rule.resources.includes('secrets')) expect(rule.verbs).toEqual(['get']);
    }
    const container = podSpec.containers[0] as Container;
    expect(podSpec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.limits?.cpu).toBeUndefined();
  });

  describe('Applications', () => {
    const apps = files
      .filter((f) => dirname(f) === EXAMPLE && f.endsWith('.yaml'))
      .flatMap(readYaml)
      .filter((o) => o.kind === 'Application');
    const app = (path: string) =>
      apps.find((a) => (a.spec as AppSpec).source.path === path)?.spec as AppSpec | undefined;

    it('install the chart and the NodePools from paths that exist', () => {
      expect(apps.map((a) => a.apiVersion)).toEqual([
        'argoproj.io/v1alpha1',
        'argoproj.io/v1alpha1',
      ]);
      for (const a of apps) {
        const spec = a.spec as AppSpec;
        expect(statSync(join(REPO, spec.source.path)).isDirectory(), spec.source.path).toBe(true);
        expect(spec.syncPolicy.syncOptions).toContain('RespectIgnoreDifferences=true');
      }
      expect(app('examples/argocd/nodepools-app')?.destination.namespace).toBe(
        kustomization.namespace,
      );
    });

    it('ignore the injected caBundle of both webhook configurations', () => {
      const ignored = app('charts/streamguard')?.ignoreDifferences ?? [];
      for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
        expect(ignored).toContainEqual({
          group: 'admissionregistration.k8s.io',
          kind,
          jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
        });
      }
    });

    it('ignore the stream the mutating webhook pins, and diff server-side', () => {
      const nodepools = apps.find(
        (a) => (a.spec as AppSpec).source.path === 'examples/argocd/nodepools-app',
      );
      const ignored = (nodepools?.spec as AppSpec).ignoreDifferences;
      expect(ignored).toContainEqual({
        group: 'hypershift.openshift.io',
        kind: 'NodePool',
        jsonPointers: ['/spec/osImageStream'],
      });
      expect(nodepools?.metadata.annotations?.['argocd.argoproj.io/compare-options']).toMatch(
        /ServerSideDiff=true/,
      );
    });
  });

  // The Job's command, against the example's offline state instead of a live cluster.
  it('has NodePools that the check admits, and a batch fails as a whole when one is denied', async () => {
    const pools = kustomization.configMapGenerator[0]?.files.map((f) => join(APP, f)) ?? [];
    const clean = await runCli(['check', '--state', 'examples/state', ...pools]);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain(`${pools.length} NodePools checked: 0 denied`);
    // One denied pool (runc on rhel-10) in the batch: the check, and so the sync, fails.
    const mixed = await runCli([
      'check',
      '--state',
      'examples/state',
      ...pools,
      'examples/gitops/batch.yaml',
    ]);
    expect(mixed.code).toBe(1);
    expect(mixed.stdout).toContain(`${pools.length + 1} NodePools checked: 1 denied`);
  });

  it('documents Server-Side Diff and the dry runs the webhook sees', () => {
    const readme = readFileSync(join(EXAMPLE, 'README.md'), 'utf8');
    expect(readme).toMatch(/## Server-Side Diff/);
    expect(readme).toContain('request.dryRun: true');
    expect(readme).toContain('sideEffects: None');
  });
});

interface Container {
  command?: string[];
  args?: string[];
  volumeMounts: { name: string; mountPath: string }[];
  securityContext: Record<string, unknown>;
  resources: { limits?: Record<string, string> };
}
interface PodSpec {
  restartPolicy: string;
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: { name: string; configMap?: { name: string } }[];
}
interface AppSpec {
  source: { path: string };
  destination: { namespace: string };
  ignoreDifferences: object[];
  syncPolicy: { syncOptions: string[] };
}
