// Discovery documents as client-go reads them: /version, /api, /apis, /api/v1, /apis/{g}/{v}, and
// the aggregated form (apidiscovery.k8s.io/v2 APIGroupDiscoveryList) that kubectl asks for first
// in its Accept header; without it, clients fall back to the per-group-version documents.
import { groupVersion, VERBS, type ResourceType } from './resources.js';

export const AGGREGATED_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export function version(): Record<string, string> {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.23.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function coreVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** Groups other than core, in order of first appearance, versions in priority order. */
function groups(types: ResourceType[]): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const t of types.filter((r) => r.group !== '')) {
    const versions = result.get(t.group) ?? [];
    for (const v of t.versions) if (!versions.includes(v)) versions.push(v);
    result.set(t.group, versions);
  }
  return result;
}

export function groupList(types: ResourceType[]): Record<string, unknown> {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups(types)].map(([name, versions]) => ({
      name,
      versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    })),
  };
}

export function group(types: ResourceType[], name: string): Record<string, unknown> | undefined {
  const versions = groups(types).get(name);
  if (versions === undefined) return undefined;
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name,
    versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
  };
}

export function resourceList(
  types: ResourceType[],
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const served = types.filter((t) => t.group === group && t.versions.includes(version));
  if (served.length === 0 && !(group === '' && version === 'v1')) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupVersion(group, version),
    resources: served.flatMap((t) => [
      {
        name: t.plural,
        singularName: t.singular,
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: VERBS,
        ...(t.shortNames.length > 0 ? { shortNames: t.shortNames } : {}),
        ...(t.categories.length > 0 ? { categories: t.categories } : {}),
      },
      ...(t.statusSubresource
        ? [
            {
              name: `${t.plural}/status`,
              singularName: '',
              namespaced: t.namespaced,
              kind: t.kind,
              verbs: ['get', 'patch', 'update'],
            },
          ]
        : []),
    ]),
  };
}

/** The aggregated document for `/api` (core) or `/apis` (all other groups). */
export function aggregated(types: ResourceType[], core: boolean): Record<string, unknown> {
  const byGroup = core ? new Map([['', ['v1']]]) : groups(types);
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: [...byGroup].map(([name, versions]) => ({
      metadata: { name, creationTimestamp: null },
      versions: versions.map((v) => ({
        version: v,
        freshness: 'Current',
        resources: types
          .filter((t) => t.group === name && t.versions.includes(v))
          .map((t) => ({
            resource: t.plural,
            responseKind: { group: t.group, version: v, kind: t.kind },
            scope: t.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: t.singular,
            verbs: VERBS,
            ...(t.shortNames.length > 0 ? { shortNames: t.shortNames } : {}),
            ...(t.categories.length > 0 ? { categories: t.categories } : {}),
            ...(t.statusSubresource
              ? {
                  subresources: [
                    {
                      subresource: 'status',
                      responseKind: { group: t.group, version: v, kind: t.kind },
                      verbs: ['get', 'patch', 'update'],
                    },
                  ],
                }
              : {}),
          })),
      })),
    })),
  };
}

/** True when the Accept header asks for aggregated discovery v2 (kubectl's first choice). */
export function wantsAggregated(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept
    .split(',')
    .some(
      (part) =>
        /g=apidiscovery\.k8s\.io/.test(part) &&
        /v=v2(;|$)/.test(part.replace(/\s/g, '')) &&
        /as=APIGroupDiscoveryList/.test(part),
    );
}
