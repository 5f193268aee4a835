// URL routing and verbs, the way the API server's REST handlers map paths to resources:
// /api/v1/... for the core group, /apis/{group}/{version}/... for the rest; namespaced types under
// namespaces/{ns}/, and their collection without it for all namespaces; `/status` for types with a
// status subresource. Answers are JSON; errors are Status objects with their code.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import * as discovery from './discovery.js';
import * as openapi from './openapi.js';
import { applyPatch } from './patch.js';
import { decodeProtobuf, PROTOBUF } from './proto.js';
import { groupVersion, isRecord, type KubeObject, type ResourceType } from './resources.js';
import {
  COMMON_FIELDS,
  fieldMatcher,
  labelMatcher,
  type FieldGetters,
  type Matcher,
} from './selectors.js';
import {
  ApiError,
  badRequest,
  failure,
  methodNotAllowed,
  resourceNotFound,
  type Status,
} from './status.js';
import { metadataOf, type Store } from './store.js';
import { columnsFor, table, TABLE_V1, wantsTable } from './table.js';
import { parseRv, type WatchHub } from './watch.js';

export interface RouteContext {
  store: Store;
  hub: WatchHub;
  serverAddress: string;
  aggregatedDiscovery: boolean;
}

interface Target {
  type: ResourceType;
  version: string;
  namespace: string | undefined;
  name: string | undefined;
  subresource: 'status' | undefined;
}

export function route(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: Buffer,
): void {
  const parts = url.pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  const method = req.method ?? 'GET';
  const types = ctx.store.registry.all();
  const accept = req.headers.accept;

  if (parts.length === 1 && ['healthz', 'livez', 'readyz'].includes(parts[0] ?? '')) {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
    return;
  }
  if (url.pathname === '/version') return json(res, 200, discovery.version());
  if (url.pathname === '/api' || url.pathname === '/apis') {
    const core = url.pathname === '/api';
    if (ctx.aggregatedDiscovery && discovery.wantsAggregated(accept)) {
      return json(res, 200, discovery.aggregated(types, core), discovery.AGGREGATED_V2);
    }
    return json(
      res,
      200,
      core ? discovery.coreVersions(ctx.serverAddress) : discovery.groupList(types),
    );
  }
  if (parts[0] === 'openapi' && parts[1] === 'v3') {
    const schemaOf = (t: ResourceType, v: string) => schemaFor(ctx.store, t, v);
    if (parts.length === 2) return json(res, 200, openapi.root(types, schemaOf));
    const [, , kind, group = '', version] = parts;
    const doc =
      kind === 'api' && parts.length === 4
        ? openapi.document(types, '', group, schemaOf)
        : kind === 'apis' && parts.length === 5 && version !== undefined
          ? openapi.document(types, group, version, schemaOf)
          : undefined;
    if (doc === undefined) throw resourceNotFound();
    return json(res, 200, doc);
  }
  const api = parseApiPath(parts);
  if (api === undefined) throw resourceNotFound();
  if (api.version === undefined) {
    const doc = discovery.group(types, api.group);
    if (doc === undefined) throw resourceNotFound();
    return json(res, 200, doc);
  }
  if (api.rest.length === 0) {
    const doc = discovery.resourceList(types, api.group, api.version);
    if (doc === undefined) throw resourceNotFound();
    return json(res, 200, doc);
  }
  const target = resolve(ctx, api.group, api.version, api.rest);
  const q = url.searchParams;
  const dryRun = q.getAll('dryRun');
  if (dryRun.some((d) => d !== 'All'))
    throw badRequest(`unsupported dry run value: ${dryRun.join(',')}`);
  const warnings: string[] = [];
  const write = {
    api: true,
    dryRun: dryRun.length > 0,
    strict: q.get('fieldValidation') === 'Strict',
    warnings,
  };
  // Pruned fields and the like reach the client as Warning headers (code 299), as in the real API.
  const originalWriteHead = res.writeHead.bind(res);
  res.writeHead = ((...args: Parameters<ServerResponse['writeHead']>) => {
    if (warnings.length > 0) {
      res.setHeader(
        'Warning',
        warnings.map((w) => `299 - ${JSON.stringify(w)}`),
      );
    }
    return originalWriteHead(...args);
  }) as ServerResponse['writeHead'];
  const { type, version, namespace, name } = target;

  if (name === undefined) {
    if (method === 'GET' && isTrue(q.get('watch'))) {
      ctx.hub.serve(
        {
          type,
          version,
          namespace,
          match: matcher(type, q),
          resourceVersion: q.get('resourceVersion') ?? undefined,
          allowBookmarks: isTrue(q.get('allowWatchBookmarks')),
          sendInitialEvents: isTrue(q.get('sendInitialEvents')),
          timeoutSeconds: seconds(q.get('timeoutSeconds')),
          ...(wantsTable(accept)
            ? {
                render: (obj: KubeObject) =>
                  table(
                    columnsOf(ctx.store, target),
                    [obj],
                    { resourceVersion: obj.metadata?.resourceVersion },
                    q.get('includeObject'),
                  ),
              }
            : {}),
        },
        res,
      );
      return;
    }
    if (method === 'GET') {
      const listed = list(ctx.store, target, q);
      if (!wantsTable(accept)) return json(res, 200, listed);
      const { items, metadata } = listed as {
        items: KubeObject[];
        metadata: Record<string, unknown>;
      };
      const full = items.map((i) => present(i, target));
      return json(
        res,
        200,
        table(columnsOf(ctx.store, target), full, metadata, q.get('includeObject')),
        TABLE_V1,
      );
    }
    if (method === 'POST' && (namespace !== undefined || !type.namespaced)) {
      const obj = objectBody(req, body, target);
      const created = ctx.store.create(type, obj, write);
      return json(res, 201, present(created, target));
    }
    if (method === 'DELETE' && (namespace !== undefined || !type.namespaced)) {
      const match = matcher(type, q);
      const deleted = ctx.store
        .list(type, namespace)
        .filter(match)
        .map(
          (o) => ctx.store.delete(type, namespace ?? '', String(o.metadata?.name), write).object,
        );
      return json(res, 200, listOf(target, deleted, String(ctx.store.resourceVersion), {}));
    }
    throw methodNotAllowed(method, type.plural);
  }

  const ns = namespace ?? '';
  if (method === 'GET') {
    const obj = present(ctx.store.get(type, ns, name), target);
    if (!wantsTable(accept)) return json(res, 200, obj);
    const meta = { resourceVersion: obj.metadata?.resourceVersion };
    return json(
      res,
      200,
      table(columnsOf(ctx.store, target), [obj], meta, q.get('includeObject')),
      TABLE_V1,
    );
  }
  if (method === 'PUT') {
    const obj = objectBody(req, body, target);
    if (metadataOf(obj).name !== name) {
      throw badRequest(
        `the name of the object (${String(metadataOf(obj).name)}) does not match the name on the URL (${name})`,
      );
    }
    const updated = ctx.store.update(type, obj, { ...write, ...sub(target) });
    return json(res, 200, present(updated, target));
  }
  if (method === 'PATCH') {
    const current = ctx.store.get(type, ns, name);
    const patched = applyPatch(
      type,
      current,
      req.headers['content-type'] ?? '',
      body.toString('utf8'),
    );
    if (!isRecord(patched)) throw badRequest('the patch did not produce an object');
    const meta = metadataOf(patched);
    // A resourceVersion in the patch is a precondition; without one the patch applies to the
    // current object (the real server retries internally; this store is synchronous).
    if (meta.resourceVersion === undefined || meta.resourceVersion === null) {
      meta.resourceVersion = current.metadata?.resourceVersion;
    }
    meta.name = name;
    if (type.namespaced) meta.namespace = ns;
    const updated = ctx.store.update(
      type,
      { ...patched, apiVersion: current.apiVersion, kind: type.kind },
      {
        ...write,
        ...sub(target),
      },
    );
    return json(res, 200, present(updated, target));
  }
  if (method === 'DELETE') {
    const options = body.length === 0 ? {} : parseBody(req, body);
    const preconditions = isRecord(options.preconditions) ? options.preconditions : {};
    const optionDryRun = Array.isArray(options.dryRun) && options.dryRun.includes('All');
    const result = ctx.store.delete(type, ns, name, {
      ...write,
      dryRun: write.dryRun || optionDryRun,
      preconditions: {
        ...(typeof preconditions.uid === 'string' ? { uid: preconditions.uid } : {}),
        ...(typeof preconditions.resourceVersion === 'string'
          ? { resourceVersion: preconditions.resourceVersion }
          : {}),
      },
    });
    if (!result.finalized) return json(res, 202, present(result.object, target));
    if (type.deleteReturnsObject) return json(res, 200, present(result.object, target));
    const success: Omit<Status, 'code'> & { code?: number } = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name,
        ...(type.group === '' ? {} : { group: type.group }),
        kind: type.plural,
        uid: String(result.object.metadata?.uid),
      },
    };
    return json(res, 200, success);
  }
  throw methodNotAllowed(method, type.plural);
}

/** The Table columns of the target's type and version. */
function columnsOf(store: Store, target: Target): ReturnType<typeof columnsFor> {
  const crdType = store.registry.byKind('apiextensions.k8s.io/v1', 'CustomResourceDefinition');
  const crd = target.type.crd === undefined ? undefined : store.get(crdType, '', target.type.crd);
  return columnsFor(target.type, crd, target.version);
}

/** A CRD version's openAPIV3Schema; built-ins get an open object schema. */
function schemaFor(store: Store, type: ResourceType, version: string): unknown {
  const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  if (type.crd === undefined) return open;
  const crdType = store.registry.byKind('apiextensions.k8s.io/v1', 'CustomResourceDefinition');
  const crd = store.get(crdType, '', type.crd);
  const versions = (
    crd.spec as { versions?: { name?: string; schema?: { openAPIV3Schema?: unknown } }[] }
  ).versions;
  return versions?.find((v) => v.name === version)?.schema?.openAPIV3Schema ?? open;
}

function parseApiPath(
  parts: string[],
): { group: string; version: string | undefined; rest: string[] } | undefined {
  if (parts[0] === 'api' && parts.length >= 2) {
    return { group: '', version: parts[1], rest: parts.slice(2) };
  }
  if (parts[0] === 'apis' && parts.length >= 2) {
    return { group: parts[1] ?? '', version: parts[2], rest: parts.slice(3) };
  }
  return undefined;
}

function resolve(ctx: RouteContext, group: string, version: string, rest: string[]): Target {
  let namespace: string | undefined;
  let path = rest;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const inner = ctx.store.registry.byPlural(group, version, rest[2] ?? '');
    if (inner?.namespaced) {
      namespace = rest[1];
      path = rest.slice(2);
    }
  }
  const [plural = '', name, subresource, ...extra] = path;
  const type = ctx.store.registry.byPlural(group, version, plural);
  if (type === undefined || extra.length > 0) throw resourceNotFound();
  if (namespace !== undefined && !type.namespaced) throw resourceNotFound();
  if (name !== undefined && type.namespaced && namespace === undefined) throw resourceNotFound();
  if (subresource !== undefined && (subresource !== 'status' || !type.statusSubresource)) {
    throw resourceNotFound();
  }
  return {
    type,
    version,
    namespace,
    name,
    subresource: subresource === 'status' ? 'status' : undefined,
  };
}

function sub(target: Target): { subresource?: 'status' } {
  return target.subresource === 'status' ? { subresource: 'status' } : {};
}

/** Fields a fieldSelector may use: name and namespace everywhere, type on Secrets. */
function fields(type: ResourceType): FieldGetters {
  if (type.group === '' && type.plural === 'secrets') {
    return { ...COMMON_FIELDS, type: (o) => String((o as { type?: unknown }).type ?? '') };
  }
  return COMMON_FIELDS;
}

function matcher(type: ResourceType, q: URLSearchParams): Matcher {
  const labels = labelMatcher(q.get('labelSelector'));
  const byField = fieldMatcher(q.get('fieldSelector'), fields(type));
  return (obj) => labels(obj) && byField(obj);
}

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

/**
 * A list at the current RV, or with `continue` at the RV of the first page (a consistent
 * snapshot, 410 Expired once the history no longer reaches back to it), or at an exact RV with
 * resourceVersionMatch=Exact.
 */
function list(store: Store, target: Target, q: URLSearchParams): Record<string, unknown> {
  const match = matcher(target.type, q);
  const limit = q.has('limit') ? Number(q.get('limit')) : 0;
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`invalid limit: ${q.get('limit')}`);
  const token = q.get('continue');
  let atRv = store.resourceVersion;
  let start = '';
  if (token !== null && token !== '') {
    const decoded = decodeContinue(token);
    if (decoded.rv < store.oldestResourceVersion) {
      throw new ApiError(
        failure(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        ),
      );
    }
    atRv = decoded.rv;
    start = decoded.start;
  } else {
    const rv = parseRv(q.get('resourceVersion') ?? undefined);
    if (rv !== undefined && rv > store.resourceVersion) {
      throw new ApiError(
        failure(
          504,
          'Timeout',
          `Too large resource version: ${rv}, current: ${store.resourceVersion}`,
          {
            causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
            retryAfterSeconds: 1,
          },
        ),
      );
    }
    if (rv !== undefined && q.get('resourceVersionMatch') === 'Exact') atRv = rv;
  }
  const all = store
    .list(target.type, target.namespace, atRv)
    .filter(match)
    .filter((o) => start === '' || keyOf(o) >= start);
  const page = limit > 0 ? all.slice(0, limit) : all;
  const rest = all.length - page.length;
  const meta: Record<string, unknown> = {};
  if (rest > 0) {
    const last = page[page.length - 1];
    meta.continue = encodeContinue({
      v: 'meta.k8s.io/v1',
      rv: atRv,
      start: `${keyOf(last ?? {})}\u0000`,
    });
    meta.remainingItemCount = rest;
  }
  return listOf(target, page, String(atRv), meta);
}

function listOf(
  target: Target,
  items: KubeObject[],
  rv: string,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  const { type } = target;
  return {
    kind: type.listKind,
    apiVersion: groupVersion(type.group, target.version),
    metadata: { resourceVersion: rv, ...extra },
    // Typed lists (built-ins) carry no kind/apiVersion on their items; unstructured ones do.
    items: items.map((o) => {
      const shown = present(o, target);
      if (!type.builtin) return shown;
      const { apiVersion: _a, kind: _k, ...rest } = shown;
      return rest;
    }),
  };
}

function keyOf(obj: KubeObject): string {
  return `${String(obj.metadata?.namespace ?? '')}/${String(obj.metadata?.name ?? '')}`;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeContinue(raw: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as ContinueToken;
    if (typeof parsed.rv === 'number' && typeof parsed.start === 'string') return parsed;
  } catch {
    // reported below
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion');
}

/** Objects leave in the version the client asked for. */
function present(obj: KubeObject, target: Target): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return {
    apiVersion: groupVersion(target.type.group, target.version),
    kind: target.type.kind,
    ...rest,
  };
}

function parseBody(req: IncomingMessage, body: Buffer): Record<string, unknown> {
  const media = (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim() ?? '';
  let parsed: unknown;
  try {
    if (media === 'application/json') parsed = JSON.parse(body.toString('utf8'));
    else if (media === 'application/yaml') parsed = parseYaml(body.toString('utf8'));
    else if (media === PROTOBUF) parsed = decodeProtobuf(body);
    else {
      throw new ApiError(
        failure(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, ${PROTOBUF}`,
        ),
      );
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw badRequest(
      `the body of the request could not be decoded: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (!isRecord(parsed)) throw badRequest('the body of the request must be an object');
  return parsed;
}

/** The object in a POST/PUT body: kind and apiVersion must be this resource's, namespace the URL's. */
function objectBody(req: IncomingMessage, body: Buffer, target: Target): KubeObject {
  const obj = parseBody(req, body) as KubeObject;
  const { type, version, namespace } = target;
  const gv = groupVersion(type.group, version);
  // Typed (built-in) endpoints default kind and apiVersion from the URL; unstructured ones
  // (custom resources) need them in the body.
  if (type.builtin) {
    obj.kind ??= type.kind;
    obj.apiVersion ??= gv;
  }
  if (obj.kind === undefined || obj.kind === '') {
    throw badRequest(`Object 'Kind' is missing in '${body.toString('utf8', 0, 200)}'`);
  }
  if (obj.kind !== type.kind || obj.apiVersion !== gv) {
    throw badRequest(
      `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${gv}) or kind ${String(obj.kind)} is not ${type.kind}`,
    );
  }
  const meta = metadataOf(obj);
  if (type.namespaced) {
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    meta.namespace = namespace;
  }
  return obj;
}

function isTrue(value: string | null): boolean {
  return value === 'true' || value === '1';
}

function seconds(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid timeoutSeconds: ${value}`);
  return n;
}

export function json(
  res: ServerResponse,
  code: number,
  body: unknown,
  contentType = 'application/json',
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
