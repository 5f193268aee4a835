// URL routing and verbs, the way the API server's REST handlers map paths to resources:
// /api/v1/... for the core group, /apis/{group}/{version}/... for the rest; namespaced types under
// namespaces/{ns}/, and their collection without it for all namespaces; `/status` for types with a
// status subresource. Answers are JSON; errors are Status objects with their code.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  runWebhooks,
  type AdmissionOptions,
  type AdmissionRecord,
  type Operation,
} from './admission.js';
import { objectBody, parseBody } from './body.js';
import * as discovery from './discovery.js';
import { list, listOf, matcher, present, type Target } from './list.js';
import * as openapi from './openapi.js';
import { applyPatch } from './patch.js';
import { isRecord, type KubeObject, type ResourceType } from './resources.js';
import { badRequest, methodNotAllowed, resourceNotFound, type Status } from './status.js';
import { metadataOf, type Store } from './store.js';
import { columnsFor, table, TABLE_V1, wantsTable } from './table.js';
import type { WatchHub } from './watch.js';

export interface RouteContext {
  /** Set when the server calls admission webhooks. */
  admission?: AdmissionOptions;
  admissionLog: AdmissionRecord[];
  store: Store;
  hub: WatchHub;
  serverAddress: string;
  aggregatedDiscovery: boolean;
}

export async function route(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: Buffer,
): Promise<void> {
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
      res.setHeader('Warning', warnings.map(warningHeader));
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
      const created = await admitted(ctx, target, 'CREATE', obj, null, write, (o, dry) =>
        ctx.store.create(type, o, { ...write, dryRun: dry }),
      );
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
    throw methodNotAllowed();
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
    const old = ctx.store.get(type, ns, name);
    const updated = await admitted(ctx, target, 'UPDATE', obj, old, write, (o, dry) =>
      ctx.store.update(type, o, { ...write, ...sub(target), dryRun: dry }),
    );
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
    const candidate = { ...patched, apiVersion: current.apiVersion, kind: type.kind };
    const updated = await admitted(ctx, target, 'UPDATE', candidate, current, write, (o, dry) =>
      ctx.store.update(type, o, { ...write, ...sub(target), dryRun: dry }),
    );
    return json(res, 200, present(updated, target));
  }
  if (method === 'DELETE') {
    const options = body.length === 0 ? {} : parseBody(req, body);
    const preconditions = isRecord(options.preconditions) ? options.preconditions : {};
    const optionDryRun = Array.isArray(options.dryRun) && options.dryRun.includes('All');
    if (ctx.admission) {
      const current = ctx.store.get(type, ns, name);
      await admitted(
        ctx,
        target,
        'DELETE',
        null,
        current,
        { ...write, dryRun: write.dryRun || optionDryRun },
        () => current,
      );
    }
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
  throw methodNotAllowed();
}

/**
 * A write through admission when the server calls webhooks: mutating webhooks, then `commit` as
 * a dry run (defaults, validation), validating webhooks on that result, then `commit` for real.
 * Webhook configurations themselves never go through webhooks, as on the real server.
 */
async function admitted(
  ctx: RouteContext,
  target: Target,
  operation: Operation,
  object: KubeObject | null,
  oldObject: KubeObject | null,
  write: { dryRun: boolean; warnings: string[] },
  commit: (obj: KubeObject, dryRun: boolean) => KubeObject,
): Promise<KubeObject> {
  const { type } = target;
  if (!ctx.admission || type.group === 'admissionregistration.k8s.io') {
    return commit(object ?? (oldObject as KubeObject), write.dryRun);
  }
  const meta = (object ?? oldObject)?.metadata ?? {};
  const namespace = type.namespaced ? String(meta.namespace ?? target.namespace ?? '') : '';
  const nsType = ctx.store.registry.byKind('v1', 'Namespace');
  const namespaceLabels = type.namespaced
    ? ((ctx.store.list(nsType, undefined).find((n) => n.metadata?.name === namespace)?.metadata
        ?.labels ?? {}) as Record<string, string>)
    : undefined;
  const call = {
    type,
    version: target.version,
    subresource: target.subresource,
    operation,
    namespace,
    name: String(meta.name ?? ''),
    object,
    oldObject,
    dryRun: write.dryRun,
    namespaceLabels,
  };
  const configs = (kind: string) =>
    ctx.store.list(ctx.store.registry.byKind('admissionregistration.k8s.io/v1', kind), undefined);
  const mutated = await runWebhooks(
    configs('MutatingWebhookConfiguration'),
    true,
    call,
    ctx.admission,
    write.warnings,
    ctx.admissionLog,
  );
  const final = operation === 'DELETE' ? null : commit(mutated ?? (oldObject as KubeObject), true);
  await runWebhooks(
    configs('ValidatingWebhookConfiguration'),
    false,
    { ...call, object: final },
    ctx.admission,
    write.warnings,
    ctx.admissionLog,
  );
  return operation === 'DELETE'
    ? (oldObject as KubeObject)
    : commit(mutated ?? (oldObject as KubeObject), write.dryRun);
}

/**
 * `299 - "text"`: a quoted-string (backslash before `"` and `\\`), sent as UTF-8 bytes as the
 * real server does. Node takes header strings as latin1, so the UTF-8 bytes go in as latin1.
 */
function warningHeader(text: string): string {
  const quoted = `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return Buffer.from(`299 - ${quoted}`, 'utf8').toString('latin1');
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
  // A Buffer, not a string: Node then writes the header block as latin1 on its own, so Warning
  // headers carry their UTF-8 bytes unchanged (with a string body it would re-encode them).
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': bytes.length });
  res.end(bytes);
}
