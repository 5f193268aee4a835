// /openapi/v3 as kubectl reads it. The root lists one document per group-version; each document
// has the resource paths with their operations tagged `x-kubernetes-group-version-kind`. kubectl
// apply looks for the `fieldValidation` query parameter on PATCH to decide that the server
// validates fields (it then sends fieldValidation=Strict instead of validating client-side), and
// for the strategic-merge content type on PATCH to decide how to diff; leaving it out for the
// built-ins makes kubectl use its compiled-in types, as it does against older servers.
import { createHash } from 'node:crypto';
import { groupVersion, type ResourceType } from './resources.js';

type Doc = Record<string, unknown>;

function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function gvs(types: ResourceType[]): [string, string][] {
  const seen = new Map<string, [string, string]>();
  seen.set('api/v1', ['', 'v1']);
  for (const t of types) for (const v of t.versions) seen.set(gvPath(t.group, v), [t.group, v]);
  return [...seen.values()];
}

export function root(
  types: ResourceType[],
  schemaOf: (t: ResourceType, v: string) => unknown,
): Doc {
  return {
    paths: Object.fromEntries(
      gvs(types).map(([g, v]) => {
        const hash = createHash('sha512')
          .update(JSON.stringify(document(types, g, v, schemaOf)))
          .digest('hex')
          .toUpperCase()
          .slice(0, 128);
        return [gvPath(g, v), { serverRelativeURL: `/openapi/v3/${gvPath(g, v)}?hash=${hash}` }];
      }),
    ),
  };
}

const QUERY = (name: string, type = 'string') => ({
  name,
  in: 'query',
  schema: { type, uniqueItems: true },
});

export function document(
  types: ResourceType[],
  group: string,
  version: string,
  schemaOf: (t: ResourceType, v: string) => unknown,
): Doc | undefined {
  const served = types.filter((t) => t.group === group && t.versions.includes(version));
  if (served.length === 0 && !(group === '' && version === 'v1')) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const t of served) {
    const gvk = { group: t.group, version, kind: t.kind };
    const ref = { $ref: `#/components/schemas/${schemaName(t, version)}` };
    const body = { content: { 'application/json': { schema: ref } } };
    const ok = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
    // No strategic-merge type here: kubectl then diffs built-ins with its compiled-in types.
    const patchTypes = ['application/json-patch+json', 'application/merge-patch+json'];
    const op = (verb: string, extra: Doc = {}) => ({
      operationId: `${verb}${t.kind}`,
      'x-kubernetes-action': verb,
      'x-kubernetes-group-version-kind': gvk,
      responses: ok,
      ...extra,
    });
    const writeParams = [QUERY('dryRun'), QUERY('fieldManager'), QUERY('fieldValidation')];
    const base = `/${gvPath(t.group, version)}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.plural}`;
    paths[base] = {
      get: op('list', {
        parameters: [QUERY('labelSelector'), QUERY('fieldSelector'), QUERY('watch', 'boolean')],
      }),
      post: op('post', { requestBody: body, parameters: writeParams }),
    };
    const item = {
      get: op('get'),
      put: op('put', { requestBody: body, parameters: writeParams }),
      patch: op('patch', {
        requestBody: {
          content: Object.fromEntries(patchTypes.map((c) => [c, { schema: { type: 'object' } }])),
        },
        parameters: writeParams,
      }),
      delete: op('delete'),
    };
    paths[`${base}/{name}`] = item;
    if (t.statusSubresource) {
      paths[`${base}/{name}/status`] = { get: item.get, put: item.put, patch: item.patch };
    }
    schemas[schemaName(t, version)] = {
      ...(schemaOf(t, version) as Doc),
      'x-kubernetes-group-version-kind': [gvk],
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas },
  };
}

function schemaName(t: ResourceType, version: string): string {
  return `${groupVersion(t.group, version).replace(/\//g, '.')}.${t.kind}`;
}
