// Request bodies in the Kubernetes protobuf encoding, which client-go's typed clients send for
// built-in types (kubectl create configmap/secret/namespace does): the `k8s\0` magic, a
// runtime.Unknown envelope {typeMeta, raw}, and the generated messages of k8s.io/api (field
// numbers from their generated.proto). Only the types and fields clients write here are decoded;
// an unknown built-in in protobuf is a 415, as for any media type the server cannot read.
import { ApiError, badRequest, failure } from './status.js';
import type { KubeObject } from './resources.js';

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Field = { no: number; wire: number; value: bigint | Buffer };

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= buf.length) throw badRequest('protobuf: truncated varint');
      const byte = buf[at++] ?? 0;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (at < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (at + len > buf.length) throw badRequest('protobuf: truncated field');
      out.push({ no, wire, value: buf.subarray(at, at + len) });
      at += len;
    } else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      out.push({ no, wire, value: buf.subarray(at, at + len) });
      at += len;
    } else throw badRequest(`protobuf: unsupported wire type ${wire}`);
  }
  return out;
}

const str = (f: Field): string => (Buffer.isBuffer(f.value) ? f.value.toString('utf8') : '');
const bytes = (f: Field): Buffer => (Buffer.isBuffer(f.value) ? f.value : Buffer.alloc(0));
const num = (f: Field): number => (typeof f.value === 'bigint' ? Number(f.value) : 0);

/** map<string, V> entries are messages {1: key, 2: value}. */
function mapEntry(f: Field): [string, Field | undefined] {
  const entry = fields(bytes(f));
  const k = entry.find((e) => e.no === 1);
  return [k ? str(k) : '', entry.find((e) => e.no === 2)];
}

function objectMeta(buf: Buffer): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  const finalizers: string[] = [];
  const owners: Record<string, unknown>[] = [];
  for (const f of fields(buf)) {
    if (f.no === 1) meta.name = str(f);
    else if (f.no === 2) meta.generateName = str(f);
    else if (f.no === 3) meta.namespace = str(f);
    else if (f.no === 5) meta.uid = str(f);
    else if (f.no === 6) meta.resourceVersion = str(f);
    else if (f.no === 7) meta.generation = num(f);
    else if (f.no === 11 || f.no === 12) {
      const [k, v] = mapEntry(f);
      (f.no === 11 ? labels : annotations)[k] = v ? str(v) : '';
    } else if (f.no === 13) owners.push(ownerReference(bytes(f)));
    else if (f.no === 14) finalizers.push(str(f));
  }
  if (Object.keys(labels).length > 0) meta.labels = labels;
  if (Object.keys(annotations).length > 0) meta.annotations = annotations;
  if (finalizers.length > 0) meta.finalizers = finalizers;
  if (owners.length > 0) meta.ownerReferences = owners;
  for (const k of Object.keys(meta)) if (meta[k] === '') Reflect.deleteProperty(meta, k);
  return meta;
}

function ownerReference(buf: Buffer): Record<string, unknown> {
  const ref: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    if (f.no === 1) ref.kind = str(f);
    else if (f.no === 3) ref.name = str(f);
    else if (f.no === 4) ref.uid = str(f);
    else if (f.no === 5) ref.apiVersion = str(f);
    else if (f.no === 6) ref.controller = num(f) !== 0;
    else if (f.no === 7) ref.blockOwnerDeletion = num(f) !== 0;
  }
  return ref;
}

function stringMap(
  fs: Field[],
  no: number,
  value: (f: Field) => string,
): Record<string, string> | undefined {
  const entries = fs.filter((f) => f.no === no).map(mapEntry);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map(([k, v]) => [k, v ? value(v) : '']));
}

const b64 = (f: Field): string => bytes(f).toString('base64');

/** The object a protobuf body carries, as the JSON the rest of the server works on. */
export function decodeProtobuf(body: Buffer): KubeObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
    throw badRequest('protobuf body does not start with the k8s\\0 magic');
  }
  const envelope = fields(body.subarray(4));
  const typeMeta = fields(
    bytes(envelope.find((f) => f.no === 1) ?? { no: 1, wire: 2, value: Buffer.alloc(0) }),
  );
  const apiVersion = str(
    typeMeta.find((f) => f.no === 1) ?? { no: 1, wire: 2, value: Buffer.alloc(0) },
  );
  const kind = str(typeMeta.find((f) => f.no === 2) ?? { no: 2, wire: 2, value: Buffer.alloc(0) });
  const raw = fields(
    bytes(envelope.find((f) => f.no === 2) ?? { no: 2, wire: 2, value: Buffer.alloc(0) }),
  );
  const metaField = raw.find((f) => f.no === 1);
  const obj: KubeObject = {
    apiVersion,
    kind,
    metadata: metaField ? objectMeta(bytes(metaField)) : {},
  };
  const flag = (no: number) => raw.find((f) => f.no === no);
  if (apiVersion === 'v1' && kind === 'ConfigMap') {
    const data = stringMap(raw, 2, str);
    const binaryData = stringMap(raw, 3, b64);
    if (data) obj.data = data;
    if (binaryData) obj.binaryData = binaryData;
    if (flag(4)) obj.immutable = num(flag(4) as Field) !== 0;
  } else if (apiVersion === 'v1' && kind === 'Secret') {
    const data = stringMap(raw, 2, b64);
    const stringData = stringMap(raw, 4, str);
    if (data) obj.data = data;
    if (flag(3)) obj.type = str(flag(3) as Field);
    if (stringData) obj.stringData = stringData;
    if (flag(5)) obj.immutable = num(flag(5) as Field) !== 0;
  } else if (apiVersion === 'v1' && kind === 'Namespace') {
    obj.spec = {};
  } else {
    throw new ApiError(
      failure(
        415,
        'UnsupportedMediaType',
        `protobuf bodies are decoded for v1 ConfigMap, Secret and Namespace only, not ${apiVersion} ${kind}; send application/json`,
      ),
    );
  }
  return obj;
}
