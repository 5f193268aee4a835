// The resource types the server serves: a few built-ins with the traits the real registry gives
// them, plus one type per CustomResourceDefinition, derived from the CRD the way the
// apiextensions-apiserver does (names, scope, served versions, status subresource).

export type KubeObject = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown>;
};

/** What callers hand in: any object with these fields (interfaces without index signatures fit). */
export interface ObjectInput {
  apiVersion?: string;
  kind?: string;
  metadata?: object;
}

export interface ResourceType {
  group: string;
  /** Served versions; objects are stored once and served under each (conversion "None"). */
  versions: string[];
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Typed (compiled-in) resources: list items carry no kind/apiVersion, strategic merge works. */
  builtin: boolean;
  /** metadata.generation is set on create and bumped when anything but metadata/status changes. */
  generation: boolean;
  /** The main resource ignores status; `/status` writes only status. */
  statusSubresource: boolean;
  /** PUT without metadata.resourceVersion is allowed (false for custom resources). */
  unconditionalUpdate: boolean;
  /** DELETE answers with the object (custom resources, CRDs) rather than a Success Status. */
  deleteReturnsObject: boolean;
  /** Strategic-merge list keys: top-level list field → merge key (from the Go types' tags). */
  mergeKeys: Record<string, string>;
  /** The CRD's name for custom resources. */
  crd?: string;
}

export const VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

const builtinDefaults = {
  builtin: true,
  generation: false,
  statusSubresource: false,
  unconditionalUpdate: true,
  deleteReturnsObject: false,
  categories: [] as string[],
  mergeKeys: {},
};

export const BUILTINS: ResourceType[] = [
  {
    ...builtinDefaults,
    group: '',
    versions: ['v1'],
    plural: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    listKind: 'NamespaceList',
    namespaced: false,
    shortNames: ['ns'],
    deleteReturnsObject: true,
  },
  {
    ...builtinDefaults,
    group: '',
    versions: ['v1'],
    plural: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    listKind: 'ConfigMapList',
    namespaced: true,
    shortNames: ['cm'],
  },
  {
    ...builtinDefaults,
    group: '',
    versions: ['v1'],
    plural: 'secrets',
    singular: 'secret',
    kind: 'Secret',
    listKind: 'SecretList',
    namespaced: true,
    shortNames: [],
  },
  ...['Validating', 'Mutating'].map((prefix): ResourceType => ({
    ...builtinDefaults,
    group: 'admissionregistration.k8s.io',
    versions: ['v1'],
    plural: `${prefix.toLowerCase()}webhookconfigurations`,
    singular: `${prefix.toLowerCase()}webhookconfiguration`,
    kind: `${prefix}WebhookConfiguration`,
    listKind: `${prefix}WebhookConfigurationList`,
    namespaced: false,
    shortNames: [],
    categories: ['api-extensions'],
    generation: true,
    mergeKeys: { webhooks: 'name' },
  })),
  {
    ...builtinDefaults,
    group: 'apiextensions.k8s.io',
    versions: ['v1'],
    plural: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    kind: 'CustomResourceDefinition',
    listKind: 'CustomResourceDefinitionList',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    generation: true,
    statusSubresource: true,
    deleteReturnsObject: true,
  },
];

/** The custom resource type a CRD defines; throws with the field that is missing or wrong. */
export function resourceFromCrd(crd: KubeObject): ResourceType {
  const where = `CustomResourceDefinition ${JSON.stringify(crd.metadata?.name ?? '?')}`;
  if (crd.apiVersion !== 'apiextensions.k8s.io/v1' || crd.kind !== 'CustomResourceDefinition') {
    throw new Error(`${where}: not an apiextensions.k8s.io/v1 CustomResourceDefinition`);
  }
  const spec = record(crd.spec, `${where}: spec`);
  const names = record(spec.names, `${where}: spec.names`);
  const group = text(spec.group, `${where}: spec.group`);
  const plural = text(names.plural, `${where}: spec.names.plural`);
  const kind = text(names.kind, `${where}: spec.names.kind`);
  if (crd.metadata?.name !== `${plural}.${group}`) {
    throw new Error(`${where}: metadata.name must be spec.names.plural + "." + spec.group`);
  }
  const scope = text(spec.scope, `${where}: spec.scope`);
  if (scope !== 'Namespaced' && scope !== 'Cluster') {
    throw new Error(`${where}: spec.scope must be Namespaced or Cluster, got ${scope}`);
  }
  if (!Array.isArray(spec.versions) || spec.versions.length === 0) {
    throw new Error(`${where}: spec.versions must be a non-empty list`);
  }
  const versions = spec.versions.map((v: unknown, i) => record(v, `${where}: spec.versions[${i}]`));
  const served = versions.filter((v) => v.served === true);
  if (served.length === 0) throw new Error(`${where}: no version has served: true`);
  // Discovery lists versions by priority; the storage version first is close enough for tests.
  const ordered = [
    ...served.filter((v) => v.storage === true),
    ...served.filter((v) => !v.storage),
  ];
  return {
    group,
    versions: ordered.map((v, i) => text(v.name, `${where}: spec.versions[${i}].name`)),
    plural,
    singular: typeof names.singular === 'string' ? names.singular : kind.toLowerCase(),
    kind,
    listKind: typeof names.listKind === 'string' ? names.listKind : `${kind}List`,
    namespaced: scope === 'Namespaced',
    shortNames: stringList(names.shortNames),
    categories: stringList(names.categories),
    builtin: false,
    generation: true,
    statusSubresource: served.some((v) => isRecord(v.subresources) && 'status' in v.subresources),
    unconditionalUpdate: false,
    deleteReturnsObject: true,
    mergeKeys: {},
    crd: `${plural}.${group}`,
  };
}

export function groupVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (!isRecord(value)) throw new Error(`${what} must be an object`);
  return value;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '')
    throw new Error(`${what} must be a non-empty string`);
  return value;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
