// Request bodies: JSON, YAML or Kubernetes protobuf, checked against the URL the way the REST
// handlers do (kind and apiVersion, the namespace, defaults for typed endpoints).
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { Target } from './list.js';
import { decodeProtobuf, PROTOBUF } from './proto.js';
import { groupVersion, isRecord, type KubeObject } from './resources.js';
import { ApiError, badRequest, failure } from './status.js';
import { metadataOf } from './store.js';

export function parseBody(req: IncomingMessage, body: Buffer): Record<string, unknown> {
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
export function objectBody(req: IncomingMessage, body: Buffer, target: Target): KubeObject {
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
