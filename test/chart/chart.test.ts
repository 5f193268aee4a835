// The Helm chart, rendered by Helm's own engine (tools/chart-render) for several values sets:
// every object valid against the real Kubernetes schemas, the values against
// values.schema.json, and the properties the product relies on (fail-closed HA, least
// privilege, restricted pods, exactly one caBundle owner, guarded matchConditions).
import { parse as parseCel } from '@marcbachmann/cel-js';
import { Ajv } from 'ajv';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/load.js';
import { isBuiltinKind, k8sProblems } from './k8s-schemas.js';
import {
  CHART,
  mergedValues,
  REPO,
  render,
  renderNotes,
  runRenderer,
  type K8sObject,
  type RenderOptions,
} from './render.js';

const NS = 'streamguard';
const FULLNAME = 'sg-streamguard';

const VALUE_SETS: Record<string, RenderOptions> = {
  default: {},
  'cert-manager': { values: { tls: { mode: 'cert-manager' } } },
  'service-ca with ServiceMonitor': {
    values: { tls: { mode: 'service-ca' }, serviceMonitor: { enabled: true } },
  },
  'cert-manager by --set, mutation fails closed': {
    set: ['tls.mode=cert-manager,webhook.mutating.failurePolicy=Fail', 'webhook.timeoutSeconds=3'],
  },
  // Every optional branch of the templates, so none of them can hide a mistake.
  customized: {
    values: {
      imagePullSecrets: [{ name: 'registry-pull' }],
      serviceAccount: { annotations: { 'example.com/role': 'webhook' } },
      podAnnotations: { 'example.com/scrape': 'false' },
      podLabels: { team: 'platform' },
      priorityClassName: 'system-cluster-critical',
      nodeSelector: { 'node-role.kubernetes.io/infra': '' },
      tolerations: [
        { key: 'node-role.kubernetes.io/infra', operator: 'Exists', effect: 'NoSchedule' },
      ],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              {
                matchExpressions: [
                  { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] },
                ],
              },
            ],
          },
        },
      },
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'kubernetes.io/hostname',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: { team: 'platform' } },
        },
      ],
      service: { annotations: { 'example.com/owner': 'platform' } },
      server: {
        deadlineMs: 1500000,
        drainSeconds: 20,
        logLevel: 'debug',
        releaseCache: { sizeLimit: '2Gi' },
      },
      serviceMonitor: {
        enabled: true,
        labels: { release: 'prometheus' },
        tlsConfig: { insecureSkipVerify: false, serverName: 'sg-streamguard.streamguard.svc' },
      },
      tls: { secretName: 'custom-tls' },
    },
  },
  minimal: {
    name: 'streamguard',
    namespace: 'policy-system',
    values: {
      replicaCount: 1,
      webhook: {
        configMaps: { enabled: false },
        validating: { failurePolicy: 'Ignore' },
        excludeNamespaces: ['openshift-monitoring'],
      },
      cleanupHook: { enabled: false },
      serviceAccount: { create: false, name: 'existing-sa' },
      image: { digest: `sha256:${'a'.repeat(64)}` },
      server: { releaseCache: { enabled: false }, extraArgs: ['--log-level', 'debug'] },
      rbac: { readPullSecrets: false },
      policy:
        'apiVersion: streamguard.io/v1alpha1\nkind: StreamPolicy\nspec:\n  rules:\n    implicit-flip: deny\n',
    },
  },
};

const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as object;
const validateValues = new Ajv({ allErrors: true, strict: true }).compile(schema);

const find = (objects: K8sObject[], kind: string, name?: string): K8sObject[] =>
  objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const one = (objects: K8sObject[], kind: string, name?: string): K8sObject => {
  const found = find(objects, kind, name);
  if (found.length !== 1)
    throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0] as K8sObject;
};

// Shapes read by the assertions below.
interface Container {
  name: string;
  args?: string[];
  command?: string[];
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  securityContext?: Record<string, unknown> & {
    capabilities?: { drop?: string[]; add?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
}
interface Probe {
  httpGet?: { path: string; port: string | number; scheme: string };
}
interface PodSpec {
  securityContext?: Record<string, unknown>;
  containers: Container[];
  volumes?: { name: string; secret?: { secretName: string }; configMap?: { name: string } }[];
  serviceAccountName?: string;
  topologySpreadConstraints?: { topologyKey: string }[];
}
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface Webhook {
  name: string;
  clientConfig: { caBundle?: string; service?: { name: string; namespace: string; path: string } };
  rules: { apiGroups: string[]; resources: string[]; operations: string[] }[];
  failurePolicy: string;
  sideEffects: string;
  matchPolicy: string;
  timeoutSeconds: number;
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
  matchConditions?: { name: string; expression: string }[];
}

/** The value, or a test failure naming what was missing. */
function must<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new Error('expected a value, found none');
  return value;
}

const podSpec = (o: K8sObject): PodSpec =>
  (o.spec as { template: { spec: PodSpec } }).template.spec;
const server = (objects: K8sObject[]): Container =>
  must(podSpec(one(objects, 'Deployment')).containers.find((c) => c.name === 'streamguard'));
const webhooks = (o: K8sObject): Webhook[] => (o as unknown as { webhooks: Webhook[] }).webhooks;

/** Rules granted to a ServiceAccount through the rendered bindings. */
function rulesOf(objects: K8sObject[], sa: string): { kind: string; rules: Rule[] }[] {
  const out: { kind: string; rules: Rule[] }[] = [];
  for (const b of objects.filter(
    (o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding',
  )) {
    const binding = b as unknown as {
      roleRef: { kind: string; name: string };
      subjects: { kind: string; name: string }[];
    };
    if (!binding.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === sa)) continue;
    const role = one(objects, binding.roleRef.kind, binding.roleRef.name);
    out.push({ kind: role.kind, rules: (role as unknown as { rules: Rule[] }).rules });
  }
  return out;
}

describe('the schema check itself', () => {
  const { objects } = render();

  it('finds wrong types, missing required fields and unknown fields (a control for the checks below)', () => {
    const deployment = structuredClone(one(objects, 'Deployment')) as K8sObject & {
      spec: Record<string, unknown>;
    };
    deployment.spec.replicas = 'two';
    delete deployment.spec.selector;
    deployment.spec.replica = 2;
    const problems = k8sProblems(deployment).join('\n');
    expect(problems).toMatch(/replicas/);
    expect(problems).toMatch(/selector/);
    expect(problems).toMatch(/replica\b/);
    const webhooks = structuredClone(
      one(objects, 'ValidatingWebhookConfiguration'),
    ) as K8sObject & { webhooks: Record<string, unknown>[] };
    delete webhooks.webhooks[0]?.sideEffects;
    expect(k8sProblems(webhooks).join('\n')).toMatch(/sideEffects/);
  });
});

describe.each(Object.entries(VALUE_SETS))('chart rendered with %s values', (_label, opts) => {
  const { objects, sources } = render(opts);

  it('renders valid values and only objects valid against the Kubernetes schemas', () => {
    expect(validateValues(mergedValues(opts)), JSON.stringify(validateValues.errors)).toBe(true);
    expect(objects.length).toBeGreaterThan(5);
    expect(sources.every((s) => s.startsWith('streamguard/templates/'))).toBe(true);
    const problems = objects.filter(isBuiltinKind).flatMap(k8sProblems);
    expect(problems).toEqual([]);
    // What kubernetes-models has no schema for is named, not silently passed.
    const others = objects.filter((o) => !isBuiltinKind(o)).map((o) => `${o.apiVersion} ${o.kind}`);
    for (const o of others)
      expect(o).toMatch(
        /^(cert-manager\.io\/v1 (Issuer|Certificate)|monitoring\.coreos\.com\/v1 ServiceMonitor)$/,
      );
  });

  it('runs a restricted pod: non-root, read-only root, no capabilities, seccomp, no CPU limit', () => {
    const deployment = one(objects, 'Deployment');
    const pod = podSpec(deployment);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const c of pod.containers) {
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(c.securityContext?.capabilities?.add).toBeUndefined();
      expect(c.securityContext?.privileged).not.toBe(true);
      expect(c.resources?.limits?.cpu).toBeUndefined();
      expect(c.resources?.requests?.cpu).toBeDefined();
    }
  });

  it('probes /healthz and /readyz over HTTPS on 8443 and serves the policy from the ConfigMap', () => {
    const c = server(objects);
    expect(c.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
    const ports = (c as unknown as { ports: { name: string; containerPort: number }[] }).ports;
    expect(ports).toContainEqual(expect.objectContaining({ name: 'https', containerPort: 8443 }));
    expect(c.args?.[0]).toBe('--in-cluster');
    expect(c.args).toContain('--listen');
    expect(c.args?.[c.args.indexOf('--listen') + 1]).toBe(':8443');
    const policyPath = c.args?.[c.args.indexOf('--policy') + 1] ?? '';
    const mount = c.volumeMounts?.find((m) => policyPath.startsWith(`${m.mountPath}/`));
    const volume = podSpec(one(objects, 'Deployment')).volumes?.find((v) => v.name === mount?.name);
    const cm = one(objects, 'ConfigMap', volume?.configMap?.name);
    const key = policyPath.slice((mount?.mountPath.length ?? 0) + 1);
    const text = (cm as unknown as { data: Record<string, string> }).data[key];
    expect(text).toBeDefined();
    // The same checks as `streamguard policy validate`.
    expect(() => parsePolicy(must(text), `ConfigMap ${cm.metadata.name}`)).not.toThrow();
  });

  it('never sends its own namespace or kube-system to the webhooks', () => {
    const ns = opts.namespace ?? NS;
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
      for (const w of webhooks(one(objects, kind))) {
        const expr = w.namespaceSelector.matchExpressions.find(
          (e) => e.key === 'kubernetes.io/metadata.name',
        );
        expect(expr?.operator).toBe('NotIn');
        expect(expr?.values).toEqual(expect.arrayContaining([ns, 'kube-system']));
        expect(w.sideEffects).toBe('None');
        expect(w.matchPolicy).toBe('Equivalent');
        expect(w.clientConfig.caBundle).toBeUndefined();
        expect(w.clientConfig.service?.namespace).toBe(ns);
      }
    }
  });

  it('gives the server read-only access to what it watches, and nothing by wildcard', () => {
    const sa = must(podSpec(one(objects, 'Deployment')).serviceAccountName);
    const granted = rulesOf(objects, sa).flatMap((r) =>
      r.rules.map((rule) => ({ ...rule, kind: r.kind })),
    );
    expect(granted.length).toBeGreaterThan(0);
    for (const rule of [
      ...granted,
      ...objects.flatMap((o) => (o as { rules?: Rule[] }).rules ?? []),
    ]) {
      expect([...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs]).not.toContain(
        '*',
      );
    }
    for (const rule of granted) {
      const writes = rule.verbs.filter((v) => !['get', 'list', 'watch'].includes(v));
      if (rule.resources?.includes('secrets') && !rule.resourceNames) {
        // Listing or watching Secrets would read every credential; only its own TLS Secret, by name.
        expect(rule.verbs).not.toContain('list');
        expect(rule.verbs).not.toContain('watch');
      }
      if (rule.resources?.includes('secrets') && rule.resourceNames) {
        expect(rule.kind).toBe('Role');
        expect(rule.resourceNames).toHaveLength(1);
      }
      if (rule.resources?.some((r) => r.endsWith('webhookconfigurations'))) {
        expect(rule.resourceNames).toEqual([
          opts.name === 'streamguard' ? 'streamguard' : FULLNAME,
        ]);
      }
      if (writes.length > 0) {
        // Writes only to its own TLS Secret (create cannot be limited by name: namespaced Role)
        // and its own webhook configurations.
        const own = rule.resources?.every(
          (r) => r === 'secrets' || r.endsWith('webhookconfigurations'),
        );
        expect(own, JSON.stringify(rule)).toBe(true);
        if (!rule.resourceNames) {
          expect(rule).toMatchObject({ kind: 'Role', resources: ['secrets'], verbs: ['create'] });
        }
      }
    }
    const readResources = granted
      .filter((r) => r.verbs.includes('watch'))
      .flatMap((r) => r.resources);
    expect(readResources).toEqual(
      expect.arrayContaining([
        'hostedclusters',
        'nodepools',
        'configmaps',
        'customresourcedefinitions',
        'imagedigestmirrorsets',
        'imagetagmirrorsets',
      ]),
    );
  });

  it('leaves no trailing whitespace (template trimming is right)', () => {
    expect(render(opts).stream).not.toMatch(/[ \t]+$/m);
  });

  it('renders the same bytes every time (Argo CD re-renders)', () => {
    expect(render(opts).stream).toBe(render(opts).stream);
  });
});

describe('high availability by default', () => {
  const { objects } = render();

  it('runs 2 replicas spread across nodes, a PDB keeping one, rolling without losing one', () => {
    const deployment = one(objects, 'Deployment');
    const spec = deployment.spec as {
      replicas: number;
      strategy: { rollingUpdate: { maxUnavailable: number } };
      selector: { matchLabels: Record<string, string> };
    };
    expect(spec.replicas).toBe(2);
    expect(spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(podSpec(deployment).topologySpreadConstraints?.map((t) => t.topologyKey)).toContain(
      'kubernetes.io/hostname',
    );
    const pdb = one(objects, 'PodDisruptionBudget').spec as {
      minAvailable: number;
      selector: { matchLabels: Record<string, string> };
    };
    expect(pdb.minAvailable).toBe(1);
    expect(pdb.selector.matchLabels).toEqual(spec.selector.matchLabels);
  });

  it('has no PDB with a single replica (minAvailable 1 would block every drain), and says why', () => {
    const single = render({ values: { replicaCount: 1 } });
    expect(find(single.objects, 'PodDisruptionBudget')).toEqual([]);
    expect(renderNotes({ values: { replicaCount: 1 } })).toMatch(
      /WARNING: the validating webhook fails closed with 1 replica/,
    );
    expect(renderNotes()).not.toMatch(/WARNING/);
  });

  it('refuses Kubernetes versions without GA matchConditions (below 1.30)', () => {
    const r = runRenderer({}, ['--kube-version', 'v1.29.9']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /chart requires kubeVersion: >=1\.30\.0-0 which is incompatible with Kubernetes v1\.29\.9/,
    );
    expect(runRenderer({}, ['--kube-version', 'v1.30.0']).status).toBe(0);
  });

  it('selects its own pods with the Service on the https port', () => {
    const svc = one(objects, 'Service').spec as {
      selector: Record<string, string>;
      ports: { port: number; targetPort: string }[];
    };
    const labels = (
      one(objects, 'Deployment').spec as {
        template: { metadata: { labels: Record<string, string> } };
      }
    ).template.metadata.labels;
    expect(labels).toMatchObject(svc.selector);
    expect(svc.ports).toEqual([expect.objectContaining({ port: 443, targetPort: 'https' })]);
  });

  it('ships the default policy byte for byte', () => {
    expect(readFileSync(join(CHART, 'files/default-policy.yaml'), 'utf8')).toBe(
      readFileSync(join(REPO, 'policies/default.yaml'), 'utf8'),
    );
  });
});

describe('customized values', () => {
  const opts = VALUE_SETS.customized as RenderOptions;
  const { objects } = render(opts);

  it('reach the objects they are meant for', () => {
    const pod = podSpec(one(objects, 'Deployment')) as PodSpec & Record<string, unknown>;
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    expect(pod.imagePullSecrets).toEqual([{ name: 'registry-pull' }]);
    expect(pod.tolerations).toHaveLength(1);
    expect(pod.topologySpreadConstraints).toEqual([
      expect.objectContaining({ whenUnsatisfiable: 'DoNotSchedule' }),
    ]);
    const args = must(server(objects).args);
    // Large numbers stay whole numbers (YAML numbers are floats to the template engine).
    expect(args[args.indexOf('--deadline-ms') + 1]).toBe('1500000');
    expect(args[args.indexOf('--tls-secret') + 1]).toBe('custom-tls');
    const tlsRole = one(objects, 'Role') as unknown as { rules: Rule[] };
    expect(tlsRole.rules[0]?.resourceNames).toEqual(['custom-tls']);
    expect(one(objects, 'ServiceAccount', FULLNAME).metadata.annotations).toEqual({
      'example.com/role': 'webhook',
    });
    const monitor = one(objects, 'ServiceMonitor');
    expect(monitor.metadata.labels?.release).toBe('prometheus');
    expect(
      (monitor.spec as { endpoints: { tlsConfig: object }[] }).endpoints[0]?.tlsConfig,
    ).toEqual({
      insecureSkipVerify: false,
      serverName: 'sg-streamguard.streamguard.svc',
    });
  });
});

describe('webhook configurations', () => {
  const { objects } = render();
  const validating = webhooks(one(objects, 'ValidatingWebhookConfiguration', FULLNAME));
  const mutating = webhooks(one(objects, 'MutatingWebhookConfiguration', FULLNAME));

  it('send NodePool CREATE and UPDATE only, validation failing closed and mutation open', () => {
    const nodepools = [...validating, ...mutating].filter((w) =>
      w.rules[0]?.resources.includes('nodepools'),
    );
    expect(nodepools).toHaveLength(2);
    for (const w of nodepools) {
      expect(w.rules).toEqual([
        expect.objectContaining({
          apiGroups: ['hypershift.openshift.io'],
          resources: ['nodepools'],
          operations: ['CREATE', 'UPDATE'],
        }),
      ]);
      expect(w.timeoutSeconds).toBe(5);
    }
    expect(validating.find((w) => w.rules[0]?.resources.includes('nodepools'))?.failurePolicy).toBe(
      'Fail',
    );
    expect(mutating.map((w) => w.failurePolicy)).toEqual(['Ignore']);
    expect(validating.map((w) => w.clientConfig.service?.path)).toEqual(['/validate', '/validate']);
    expect(mutating.map((w) => w.clientConfig.service?.path)).toEqual(['/mutate']);
  });

  it('take both failure policies from values', () => {
    const r = render({
      set: ['webhook.validating.failurePolicy=Ignore', 'webhook.mutating.failurePolicy=Fail'],
    });
    const all = [
      ...webhooks(one(r.objects, 'ValidatingWebhookConfiguration')),
      ...webhooks(one(r.objects, 'MutatingWebhookConfiguration')),
    ];
    expect(all.map((w) => [w.name, w.failurePolicy])).toEqual([
      ['nodepools.validate.streamguard.io', 'Ignore'],
      ['configmaps.validate.streamguard.io', 'Ignore'],
      ['nodepools.mutate.streamguard.io', 'Fail'],
    ]);
  });

  describe('ConfigMap matchConditions (evaluated with CEL)', () => {
    const cm = must(validating.find((w) => w.name === 'configmaps.validate.streamguard.io'));
    const conditions = must(cm.matchConditions).map((c) => ({
      name: c.name,
      run: parseCel(c.expression),
    }));
    // The API server calls the webhook only when every condition is true; an error with none
    // false applies failurePolicy (Fail), so no condition may ever error.
    const matches = (operation: string, object: unknown, oldObject: unknown): boolean =>
      conditions.every((c) => c.run({ request: { operation }, object, oldObject }) === true);
    const withConfig = {
      metadata: { name: 'pool-config' },
      data: { config: 'kind: ContainerRuntimeConfig' },
    };
    const otherData = { metadata: { name: 'x' }, data: { other: 'y' } };
    const noData = { metadata: { name: 'x' } };
    const binaryOnly = { metadata: { name: 'x' }, binaryData: { config: 'AA==' } };

    it.each([
      ['CREATE with a config key', true, 'CREATE', withConfig, null],
      ['CREATE without data', false, 'CREATE', noData, null],
      ['CREATE with other keys', false, 'CREATE', otherData, null],
      ['CREATE with binaryData only', false, 'CREATE', binaryOnly, null],
      ['UPDATE adding config', true, 'UPDATE', withConfig, otherData],
      ['UPDATE removing config', true, 'UPDATE', otherData, withConfig],
      ['UPDATE removing all data', true, 'UPDATE', noData, withConfig],
      ['UPDATE unrelated', false, 'UPDATE', otherData, noData],
      ['UPDATE without data either side', false, 'UPDATE', noData, noData],
      ['DELETE of a config ConfigMap', false, 'DELETE', null, withConfig],
      ['DELETE of another ConfigMap', false, 'DELETE', null, noData],
      ['CONNECT with no objects', false, 'CONNECT', null, null],
    ] as const)('%s: no error, matches: %s', (_l, expected, op, object, oldObject) => {
      expect(matches(op, object, oldObject)).toBe(expected);
    });

    it('would catch an unguarded expression (the evaluator errors on a missing field)', () => {
      expect(() =>
        parseCel("'config' in object.data")({ object: noData, oldObject: null }),
      ).toThrow();
    });
  });

  it('exclude namespaces given in values as well', () => {
    const r = render({
      values: { webhook: { excludeNamespaces: ['openshift-monitoring', 'kube-system'] } },
    });
    const w = must(webhooks(one(r.objects, 'ValidatingWebhookConfiguration'))[0]);
    expect(w.namespaceSelector.matchExpressions[0]?.values).toEqual([
      NS,
      'kube-system',
      'openshift-monitoring',
    ]);
  });
});

describe('TLS modes: exactly one caBundle owner each', () => {
  const owners = (objects: K8sObject[]): string[] => {
    const found = new Set<string>();
    const args = server(objects).args ?? [];
    if (args.includes('--webhook-configuration')) found.add('server');
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
      const a = one(objects, kind).metadata.annotations ?? {};
      if (a['cert-manager.io/inject-ca-from']) found.add('cert-manager');
      if (a['service.beta.openshift.io/inject-cabundle'] === 'true') found.add('service-ca');
    }
    return [...found];
  };
  const secretVolume = (objects: K8sObject[]): string | undefined =>
    podSpec(one(objects, 'Deployment')).volumes?.find((v) => v.secret)?.secret?.secretName;
  const serverRules = (objects: K8sObject[]): Rule[] =>
    rulesOf(objects, must(podSpec(one(objects, 'Deployment')).serviceAccountName)).flatMap(
      (r) => r.rules,
    );

  it('self-managed: the server owns the Secret and patches its webhook configurations by name', () => {
    const { objects } = render();
    expect(owners(objects)).toEqual(['server']);
    const args = must(server(objects).args);
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--tls-secret')).toBe(`${FULLNAME}-tls`);
    expect(flag('--tls-namespace')).toBe(NS);
    expect(flag('--service')).toBe(FULLNAME);
    expect(flag('--webhook-configuration')).toBe(FULLNAME);
    expect(args).not.toContain('--tls-cert');
    expect(secretVolume(objects)).toBeUndefined();
    expect(find(objects, 'Secret')).toEqual([]);
    const rules = serverRules(objects);
    expect(rules).toContainEqual(
      expect.objectContaining({
        resources: ['secrets'],
        resourceNames: [`${FULLNAME}-tls`],
        verbs: ['get', 'list', 'watch', 'update'],
      }),
    );
    expect(rules).toContainEqual(
      expect.objectContaining({
        resources: ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations'],
        resourceNames: [FULLNAME],
      }),
    );
  });

  it('cert-manager: a CA Issuer chain and Certificate, injected by annotation, Secret mounted', () => {
    const { objects } = render({ values: { tls: { mode: 'cert-manager' } } });
    expect(owners(objects)).toEqual(['cert-manager']);
    const inject = must(
      (one(objects, 'ValidatingWebhookConfiguration').metadata.annotations ?? {})[
        'cert-manager.io/inject-ca-from'
      ],
    );
    expect(
      (one(objects, 'MutatingWebhookConfiguration').metadata.annotations ?? {})[
        'cert-manager.io/inject-ca-from'
      ],
    ).toBe(inject);
    const [certNs, certName] = inject.split('/');
    expect(certNs).toBe(NS);
    const cert = one(objects, 'Certificate', certName).spec as {
      secretName: string;
      dnsNames: string[];
      issuerRef: { name: string; kind: string };
    };
    expect(cert.dnsNames).toEqual([
      FULLNAME,
      `${FULLNAME}.${NS}`,
      `${FULLNAME}.${NS}.svc`,
      `${FULLNAME}.${NS}.svc.cluster.local`,
    ]);
    expect(secretVolume(objects)).toBe(cert.secretName);
    // The serving certificate's Issuer is a CA whose own certificate is self-signed.
    const caIssuer = one(objects, 'Issuer', cert.issuerRef.name).spec as {
      ca: { secretName: string };
    };
    const caCert = find(objects, 'Certificate').find(
      (c) => (c.spec as { secretName: string }).secretName === caIssuer.ca.secretName,
    );
    expect(caCert?.spec).toMatchObject({ isCA: true });
    const root = one(
      objects,
      'Issuer',
      (caCert?.spec as { issuerRef: { name: string } }).issuerRef.name,
    );
    expect(root.spec).toEqual({ selfSigned: {} });
    expectMountedTls(objects);
  });

  it('service-ca: the Service asks for the Secret, both configurations ask for the bundle', () => {
    const { objects } = render({ values: { tls: { mode: 'service-ca' } } });
    expect(owners(objects)).toEqual(['service-ca']);
    const annotations = one(objects, 'Service').metadata.annotations ?? {};
    expect(secretVolume(objects)).toBe(
      annotations['service.beta.openshift.io/serving-cert-secret-name'],
    );
    expect(find(objects, 'Certificate')).toEqual([]);
    expectMountedTls(objects);
  });

  it.each([
    ['self-managed', { ca: { secret: { name: `${FULLNAME}-tls`, key: 'ca.crt' } } }],
    ['cert-manager', { ca: { secret: { name: `${FULLNAME}-tls`, key: 'ca.crt' } } }],
    ['service-ca', { caFile: '/etc/prometheus/configmaps/serving-certs-ca-bundle/service-ca.crt' }],
  ])('%s: the ServiceMonitor verifies /metrics with the CA of that mode', (mode, ca) => {
    const { objects } = render({ values: { tls: { mode }, serviceMonitor: { enabled: true } } });
    const endpoint = (
      one(objects, 'ServiceMonitor').spec as { endpoints: Record<string, unknown>[] }
    ).endpoints[0];
    expect(endpoint).toMatchObject({ port: 'https', path: '/metrics', scheme: 'https' });
    expect(endpoint?.tlsConfig).toEqual({ serverName: `${FULLNAME}.${NS}.svc`, ...ca });
  });

  function expectMountedTls(objects: K8sObject[]): void {
    const args = must(server(objects).args);
    expect(args).not.toContain('--tls-secret');
    expect(args).not.toContain('--webhook-configuration');
    const dir = server(objects).volumeMounts?.find((m) => m.name === 'tls')?.mountPath;
    expect(args[args.indexOf('--tls-cert') + 1]).toBe(`${dir}/tls.crt`);
    expect(args[args.indexOf('--tls-key') + 1]).toBe(`${dir}/tls.key`);
    // No Secret or webhook-configuration rights beyond reading pull secrets.
    for (const rule of serverRules(objects)) {
      expect(rule.resources?.some((r) => r.endsWith('webhookconfigurations'))).toBe(false);
      if (rule.resources?.includes('secrets')) expect(rule).toMatchObject({ verbs: ['get'] });
    }
    const none = render({
      values: { tls: { mode: 'service-ca' }, rbac: { readPullSecrets: false } },
    }).objects;
    expect(serverRules(none).flatMap((r) => r.resources)).not.toContain('secrets');
  }
});

describe('values the chart refuses', () => {
  it.each([
    [{ tls: { mode: 'openshift' } }, /tls\.mode must be self-managed, cert-manager or service-ca/],
    [{ serviceAccount: { create: false } }, /serviceAccount\.name is required/],
    [
      { terminationGracePeriodSeconds: 10, server: { drainSeconds: 10 } },
      /terminationGracePeriodSeconds \(10\) must be longer than server\.drainSeconds \(10\)/,
    ],
  ])('%j fails to render with a clear message', (values, message) => {
    const r = runRenderer({ values });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
  });

  it.each([
    [{ tls: { mode: 'openshift' } }, '/tls/mode'],
    [{ webhook: { timeoutSeconds: 31 } }, '/webhook/timeoutSeconds'],
    [{ webhook: { validating: { failurePolicy: 'fail' } } }, '/webhook/validating/failurePolicy'],
    [{ resources: { limits: { cpu: '1' } } }, '/resources/limits'],
    [{ replicaCount: '2' }, '/replicaCount'],
    [{ unknownKey: true }, ''],
  ])('%j is rejected by values.schema.json at %s', (values, path) => {
    expect(validateValues(mergedValues({ values }))).toBe(false);
    expect(validateValues.errors?.map((e) => e.instancePath)).toContain(path);
  });
});

describe('templates', () => {
  const dir = join(CHART, 'templates');
  const sources = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));

  it('generate nothing random or time-dependent (Argo CD renders on every refresh)', () => {
    const banned =
      /\b(rand\w*|genCA|genPrivateKey|genSelfSignedCert|genSignedCert\w*|uuidv4|now|date\w*|lookup)\b/;
    for (const text of sources) {
      for (const action of text.match(/\{\{[\s\S]*?\}\}/g) ?? [])
        expect(action).not.toMatch(banned);
    }
  });

  it('NOTES.txt gives the emergency recovery for both configurations', () => {
    const notes = renderNotes();
    expect(notes).toContain(`kubectl delete validatingwebhookconfiguration ${FULLNAME}`);
    expect(notes).toContain(`kubectl delete mutatingwebhookconfiguration ${FULLNAME}`);
  });
});
