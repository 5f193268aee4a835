// The object store: what etcd plus the generic registry give the real API server. One global
// resourceVersion counter (every write takes the next number, as an etcd revision does), uid and
// creationTimestamp on create, optimistic concurrency on update, generation bumps on spec
// changes, finalizers holding deletion, and a bounded history of change events for watches and
// consistent paging. Everything here is synchronous, so a write and its event are never apart.
import { randomBytes, randomUUID } from 'node:crypto';
import { Registry } from './registry.js';
import { isRecord, type KubeObject, type ResourceType } from './resources.js';
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  expired,
  failure,
  invalid,
  invalidFields,
  notFound,
} from './status.js';
import { validateCustomResource } from './validation.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  rv: number;
  type: EventType;
  resource: ResourceType;
  /** The object after the change; for DELETED the last state, stamped with the delete's RV. */
  object: KubeObject;
  /** The object before the change (MODIFIED and DELETED). */
  old?: KubeObject;
}

export interface WriteOptions {
  /** Client rules (true for HTTP requests): status subresource, unconditional update, namespaces. */
  api: boolean;
  dryRun?: boolean;
  /** fieldValidation=Strict: unknown fields are a 400 instead of being dropped. */
  strict?: boolean;
  /** Collects the warnings the answer carries (`unknown field "spec.x"` for pruned fields). */
  warnings?: string[];
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// The alphabet and length of k8s.io/apiserver's names.SimpleNameGenerator.
const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export class Store {
  readonly registry = new Registry();
  private rv = 1;
  /** Watches and pages may start at any RV >= floor; older ones get 410 Expired. */
  private floor = 1;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private history: StoreEvent[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();

  /** CEL rules the evaluator could not run (skipped, never failed), with where and why. */
  readonly skippedRules = new Set<string>();

  constructor(
    private readonly historySize: number,
    private readonly validateSchemas = true,
  ) {
    if (!Number.isInteger(historySize) || historySize < 1) {
      throw new Error(`historySize must be a positive integer, got ${historySize}`);
    }
  }

  get resourceVersion(): number {
    return this.rv;
  }

  get oldestResourceVersion(): number {
    return this.floor;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets the history, as etcd compaction does: every older RV now gets 410 Expired. */
  compact(): void {
    this.history = [];
    this.floor = this.rv;
  }

  /** Events after `rv`, oldest first; throws 410 Expired when they are no longer all known. */
  eventsSince(rv: number): StoreEvent[] {
    if (rv < this.floor) throw new ApiError(expired(rv, this.floor));
    return this.history.filter((e) => e.rv > rv);
  }

  get(type: ResourceType, namespace: string, name: string): KubeObject {
    const found = this.bucket(type).get(key(namespace, name));
    if (found === undefined) throw notFound(type, name);
    return structuredClone(found);
  }

  /** Objects in etcd key order (namespace, then name), optionally as they were at `atRv`. */
  list(type: ResourceType, namespace: string | undefined, atRv?: number): KubeObject[] {
    const state = new Map(this.bucket(type));
    if (atRv !== undefined && atRv < this.rv) {
      for (const event of this.eventsSince(atRv).reverse()) {
        if (event.resource !== type) continue;
        const k = objectKey(event.object);
        if (event.type === 'ADDED') state.delete(k);
        else if (event.old) state.set(k, event.old);
      }
    }
    return [...state.entries()]
      .filter(([k]) => namespace === undefined || k.startsWith(`${namespace}/`))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, obj]) => structuredClone(obj));
  }

  create(type: ResourceType, input: KubeObject, options: WriteOptions): KubeObject {
    const obj = structuredClone(input);
    const meta = metadataOf(obj);
    if (typeof meta.name !== 'string' || meta.name === '') {
      if (typeof meta.generateName !== 'string' || meta.generateName === '') {
        throw invalid(
          type.kind,
          type.group,
          '',
          'metadata.name',
          'FieldValueRequired',
          'Required value: name or generateName is required',
        );
      }
      meta.name = meta.generateName + randomName();
    }
    const name = meta.name as string;
    this.checkName(type, name);
    if (options.api) checkMeta(type, name, meta);
    const namespace = type.namespaced ? String(meta.namespace ?? '') : '';
    if (type.namespaced) {
      if (namespace === '') {
        throw invalid(
          type.kind,
          type.group,
          name,
          'metadata.namespace',
          'FieldValueRequired',
          'Required value',
        );
      }
      if (options.api && !this.bucket(this.namespaces()).has(key('', namespace))) {
        throw notFound(this.namespaces(), namespace);
      }
    } else {
      delete meta.namespace;
    }
    if (this.bucket(type).has(key(namespace, name))) throw alreadyExists(type, name);
    if (options.api && type.statusSubresource) delete obj.status;
    normalizeSecret(type, obj);
    for (const field of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields']) {
      Reflect.deleteProperty(meta, field);
    }
    labelNamespace(type, obj);
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp();
    if (type.generation) meta.generation = 1;
    else delete meta.generation;
    if (type.plural === 'customresourcedefinitions') {
      this.validateCrd(obj);
      obj.status = establishedStatus(obj);
    }
    if (options.api) this.validateSchema(type, obj, undefined, options);
    // A dry run stores nothing: no resourceVersion on a create, as on the real server.
    if (options.dryRun) {
      Reflect.deleteProperty(metadataOf(obj), 'resourceVersion');
      return obj;
    }
    const stored = this.commit('ADDED', type, obj, undefined);
    if (type.plural === 'customresourcedefinitions') this.registry.crdStored(stored);
    return structuredClone(stored);
  }

  /**
   * PUT semantics. With a resourceVersion it must be current (else 409 Conflict); without one,
   * only resources that allow unconditional updates accept it from clients. `subresource` status
   * writes only status; the main resource keeps the stored status when a status subresource exists.
   */
  update(
    type: ResourceType,
    input: KubeObject,
    options: WriteOptions & { subresource?: 'status' },
  ): KubeObject {
    const incoming = structuredClone(input);
    const meta = metadataOf(incoming);
    const name = String(meta.name ?? '');
    const namespace = type.namespaced ? String(meta.namespace ?? '') : '';
    const existing = this.bucket(type).get(key(namespace, name));
    if (existing === undefined) throw notFound(type, name);
    const oldMeta = metadataOf(existing);
    const rv = meta.resourceVersion;
    if (rv !== undefined && rv !== '') {
      if (rv !== oldMeta.resourceVersion) throw conflict(type, name);
    } else if (options.api && !type.unconditionalUpdate) {
      throw invalid(
        type.kind,
        type.group,
        name,
        'metadata.resourceVersion',
        'FieldValueInvalid',
        'Invalid value: 0x0: must be specified for an update',
      );
    }
    let next: KubeObject;
    if (options.subresource === 'status') {
      next = { ...structuredClone(existing), status: incoming.status };
    } else {
      next = incoming;
      if (options.api && type.statusSubresource) {
        if (existing.status === undefined) delete next.status;
        else next.status = structuredClone(existing.status);
      }
      normalizeSecret(type, next);
      labelNamespace(type, next);
      const nextMeta = metadataOf(next);
      for (const field of [
        'uid',
        'creationTimestamp',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
      ]) {
        if (oldMeta[field] === undefined) Reflect.deleteProperty(nextMeta, field);
        else nextMeta[field] = oldMeta[field];
      }
      if (type.namespaced) nextMeta.namespace = namespace;
      else delete nextMeta.namespace;
      delete nextMeta.managedFields;
      if (type.generation) {
        const bump = specOf(existing, type) !== specOf(next, type);
        nextMeta.generation = Number(oldMeta.generation ?? 0) + (bump ? 1 : 0);
      } else {
        delete nextMeta.generation;
      }
    }
    metadataOf(next).resourceVersion = oldMeta.resourceVersion;
    if (options.api) checkMeta(type, name, metadataOf(next));
    if (options.api)
      this.validateSchema(type, next, existing, {
        ...options,
        statusOnly: options.subresource === 'status',
      });
    // A write that changes nothing is a no-op: no new resourceVersion, no watch event.
    if (JSON.stringify(next) === JSON.stringify(existing)) return structuredClone(existing);
    const isCrd = type.plural === 'customresourcedefinitions';
    if (isCrd && options.subresource !== 'status') this.validateCrd(next);
    if (options.dryRun) return next; // keeps the current resourceVersion: nothing was written
    if (isCrd) {
      // The served type follows the new spec (new versions, a status subresource).
      this.registry.crdDeleted(String(metadataOf(existing).name));
      this.registry.crdStored(next);
    }
    const nextMeta = metadataOf(next);
    if (nextMeta.deletionTimestamp !== undefined && finalizers(next).length === 0) {
      return this.commitDelete(type, next, existing);
    }
    return structuredClone(this.commit('MODIFIED', type, next, existing));
  }

  /**
   * DELETE semantics: preconditions on uid and resourceVersion (409), then either removal or,
   * while finalizers remain, a deletionTimestamp (the object stays until they are removed).
   */
  delete(
    type: ResourceType,
    namespace: string,
    name: string,
    options: WriteOptions & { preconditions?: { uid?: string; resourceVersion?: string } },
  ): { object: KubeObject; finalized: boolean } {
    const existing = this.bucket(type).get(key(type.namespaced ? namespace : '', name));
    if (existing === undefined) throw notFound(type, name);
    const meta = metadataOf(existing);
    const pre = options.preconditions ?? {};
    for (const field of ['uid', 'resourceVersion'] as const) {
      const want = pre[field];
      if (want !== undefined && want !== meta[field]) {
        throw new ApiError(
          failure(
            409,
            'Conflict',
            `Operation cannot be fulfilled on ${type.group === '' ? type.plural : `${type.plural}.${type.group}`} "${name}": ` +
              `Precondition failed: ${field === 'uid' ? 'UID' : 'ResourceVersion'} in precondition: ${want}, ` +
              `${field === 'uid' ? 'UID' : 'ResourceVersion'} in object meta: ${String(meta[field])}`,
            { name, ...(type.group === '' ? {} : { group: type.group }), kind: type.plural },
          ),
        );
      }
    }
    if (finalizers(existing).length > 0) {
      if (meta.deletionTimestamp !== undefined)
        return { object: structuredClone(existing), finalized: false };
      const next = structuredClone(existing);
      Object.assign(metadataOf(next), {
        deletionTimestamp: timestamp(),
        deletionGracePeriodSeconds: 0,
      });
      if (type.generation) metadataOf(next).generation = Number(meta.generation ?? 0) + 1;
      if (options.dryRun) return { object: next, finalized: false };
      return {
        object: structuredClone(this.commit('MODIFIED', type, next, existing)),
        finalized: false,
      };
    }
    if (options.dryRun) return { object: structuredClone(existing), finalized: true };
    return { object: this.commitDelete(type, existing, existing), finalized: true };
  }

  private commitDelete(type: ResourceType, last: KubeObject, existing: KubeObject): KubeObject {
    const meta = metadataOf(last);
    this.rv++;
    const object = stamp(structuredClone(last), this.rv);
    this.bucket(type).delete(key(String(meta.namespace ?? ''), String(meta.name)));
    this.record({ rv: this.rv, type: 'DELETED', resource: type, object, old: existing });
    // What the namespace and CRD controllers do: the contents go with their container.
    if (type.plural === 'namespaces' && type.group === '') {
      for (const t of this.registry.all().filter((r) => r.namespaced)) {
        for (const obj of this.list(t, String(meta.name))) this.commitDelete(t, obj, obj);
      }
    }
    if (type.plural === 'customresourcedefinitions') {
      const served = this.registry.crdDeleted(String(meta.name));
      if (served)
        for (const obj of this.list(served, undefined)) this.commitDelete(served, obj, obj);
    }
    return structuredClone(object);
  }

  private commit(
    type: EventType,
    resource: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
  ): KubeObject {
    this.rv++;
    const stored = stamp(obj, this.rv);
    this.bucket(resource).set(objectKey(stored), stored);
    this.record({ rv: this.rv, type, resource, object: stored, ...(old ? { old } : {}) });
    return stored;
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historySize) {
      const dropped = this.history.splice(0, this.history.length - this.historySize);
      this.floor = dropped[dropped.length - 1]?.rv ?? this.floor;
    }
    for (const listener of this.listeners) listener(event);
  }

  private bucket(type: ResourceType): Map<string, KubeObject> {
    const id = `${type.group}/${type.plural}`;
    let bucket = this.objects.get(id);
    if (bucket === undefined) {
      bucket = new Map();
      this.objects.set(id, bucket);
    }
    return bucket;
  }

  private namespaces(): ResourceType {
    return this.registry.byKind('v1', 'Namespace');
  }

  private checkName(type: ResourceType, name: string): void {
    const pattern = type.plural === 'namespaces' ? LABEL_NAME : NAME;
    const max = type.plural === 'namespaces' ? 63 : 253;
    if (name.length > max || !pattern.test(name)) {
      throw invalid(
        type.kind,
        type.group,
        name,
        'metadata.name',
        'FieldValueInvalid',
        `Invalid value: "${name}": a lowercase RFC 1123 ${type.plural === 'namespaces' ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      );
    }
  }

  /**
   * Custom resources against their CRD version's schema (defaults and pruning applied to `obj`):
   * 422 with every field error, or 400 for unknown fields under fieldValidation=Strict.
   */
  private validateSchema(
    type: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
    options: WriteOptions & { statusOnly?: boolean },
  ): void {
    if (!this.validateSchemas || type.crd === undefined) return;
    const crd = this.bucket(
      this.registry.byKind('apiextensions.k8s.io/v1', 'CustomResourceDefinition'),
    ).get(key('', type.crd));
    const version = String(obj.apiVersion ?? '').split('/')[1];
    const versions = (
      crd?.spec as
        { versions?: { name?: string; schema?: { openAPIV3Schema?: unknown } }[] } | undefined
    )?.versions;
    const schema = versions?.find((v) => v.name === version)?.schema?.openAPIV3Schema;
    if (!isRecord(schema)) return;
    const result = validateCustomResource(schema, obj, old, options.statusOnly);
    for (const skipped of result.skippedRules) this.skippedRules.add(`${type.kind}: ${skipped}`);
    if (options.strict && result.unknownFields.length > 0) {
      // The decoder's wording: the kind and version that could not take the body.
      throw badRequest(
        `${type.kind} in version "${version}" cannot be handled as a ${type.kind}: strict decoding error: ` +
          result.unknownFields.map((f) => `unknown field "${f}"`).join(', '),
      );
    }
    for (const f of result.unknownFields) options.warnings?.push(`unknown field "${f}"`);
    if (result.errors.length > 0) {
      throw invalidFields(type.kind, type.group, String(metadataOf(obj).name ?? ''), result.errors);
    }
  }

  /** A CRD the server could not serve is 422 Invalid, naming what is wrong. */
  private validateCrd(crd: KubeObject): void {
    const name = String(metadataOf(crd).name);
    try {
      const probe = new Registry();
      probe.crdStored(crd);
      const served = this.registry
        .all()
        .find((r) => r.crd !== name && `${r.plural}.${r.group}` === name);
      if (served) throw new Error(`${name} is already served`);
    } catch (err) {
      throw invalid(
        'CustomResourceDefinition',
        'apiextensions.k8s.io',
        name,
        'spec',
        'FieldValueInvalid',
        err instanceof Error ? err.message : String(err),
      );
    }
  }
}

/** The status the CRD controllers set at once: names accepted, established. */
function establishedStatus(crd: KubeObject): Record<string, unknown> {
  const spec = crd.spec as Record<string, unknown>;
  const now = timestamp();
  return {
    acceptedNames: spec.names,
    conditions: [
      {
        type: 'NamesAccepted',
        status: 'True',
        reason: 'NoConflicts',
        message: 'no conflicts found',
        lastTransitionTime: now,
      },
      {
        type: 'Established',
        status: 'True',
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
        lastTransitionTime: now,
      },
    ],
    storedVersions: (spec.versions as Record<string, unknown>[])
      .filter((v) => v.storage)
      .map((v) => v.name),
  };
}

export function metadataOf(obj: KubeObject): Record<string, unknown> {
  if (!isRecord(obj.metadata)) obj.metadata = {};
  return obj.metadata as Record<string, unknown>;
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function objectKey(obj: KubeObject): string {
  return key(String(obj.metadata?.namespace ?? ''), String(obj.metadata?.name ?? ''));
}

function stamp(obj: KubeObject, rv: number): KubeObject {
  metadataOf(obj).resourceVersion = String(rv);
  return obj;
}

function finalizers(obj: KubeObject): unknown[] {
  const f = obj.metadata?.finalizers;
  return Array.isArray(f) ? f : [];
}

/** Everything the generation counts: the object without metadata (and status when separate). */
function specOf(obj: KubeObject, type: ResourceType): string {
  const { metadata: _m, status, ...rest } = obj;
  return JSON.stringify(type.statusSubresource ? rest : { ...rest, status });
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const ANNOTATIONS_LIMIT = 262_144;

/**
 * ObjectMeta validation (apimachinery's ValidateObjectMeta): label keys and values, and at most
 * 256 KiB of annotations in total, the limit a client-side `kubectl apply` of a large CRD hits
 * through its last-applied-configuration annotation.
 */
function checkMeta(type: ResourceType, name: string, meta: Record<string, unknown>): void {
  const errors: { field: string; reason: string; detail: string }[] = [];
  const labels = isRecord(meta.labels) ? meta.labels : {};
  for (const [key, value] of Object.entries(labels)) {
    if (!qualifiedName(key)) {
      errors.push({
        field: 'metadata.labels',
        reason: 'FieldValueInvalid',
        detail: `Invalid value: ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
      });
    }
    const v = String(value);
    if (v.length > 63 || !LABEL_VALUE.test(v)) {
      errors.push({
        field: 'metadata.labels',
        reason: 'FieldValueInvalid',
        detail: `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
      });
    }
  }
  const annotations = isRecord(meta.annotations) ? meta.annotations : {};
  const size = Object.entries(annotations).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(String(v)),
    0,
  );
  if (size > ANNOTATIONS_LIMIT) {
    errors.push({
      field: 'metadata.annotations',
      reason: 'FieldValueTooLong',
      detail: `Too long: may not be more than ${ANNOTATIONS_LIMIT} bytes`,
    });
  }
  if (errors.length > 0) throw invalidFields(type.kind, type.group, name, errors);
}

/** A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
function qualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const [prefix, local] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined && (prefix.length > 253 || !NAME.test(prefix))) return false;
  return local !== undefined && local.length <= 63 && QUALIFIED_NAME.test(local);
}

/** Namespaces always carry their name as a label (set by the namespace strategy since 1.21). */
function labelNamespace(type: ResourceType, obj: KubeObject): void {
  if (type.group !== '' || type.plural !== 'namespaces') return;
  const meta = metadataOf(obj);
  meta.labels = {
    ...(isRecord(meta.labels) ? meta.labels : {}),
    'kubernetes.io/metadata.name': String(meta.name),
  };
}

/** Secrets default to type Opaque and store stringData base64-encoded into data, as the Secret strategy does. */
function normalizeSecret(type: ResourceType, obj: KubeObject): void {
  if (type.group !== '' || type.plural !== 'secrets') return;
  if (typeof obj.type !== 'string' || obj.type === '') obj.type = 'Opaque';
  if (!isRecord(obj.stringData)) return;
  const data = isRecord(obj.data) ? obj.data : {};
  for (const [k, v] of Object.entries(obj.stringData))
    data[k] = Buffer.from(String(v)).toString('base64');
  obj.data = data;
  delete obj.stringData;
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function randomName(): string {
  return [...randomBytes(5)].map((b) => GENERATE_ALPHABET[b % GENERATE_ALPHABET.length]).join('');
}
