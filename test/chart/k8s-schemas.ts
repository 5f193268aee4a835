// Validates Kubernetes objects against the real API schemas, two ways: kubernetes-models'
// validators (types, enums, required fields; generated from the Kubernetes OpenAPI spec) and the
// attribute maps of @kubernetes/client-node's generated models (from the same spec), which catch
// what the first lets through: misspelt or unknown fields.
import * as serializer from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import * as admissionregistration from 'kubernetes-models/admissionregistration.k8s.io/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as rbac from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as core from 'kubernetes-models/v1';

type Validatable = new (data: object) => { validate(): void };

const MODELS: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'batch/v1': batch,
  'policy/v1': policy,
  'rbac.authorization.k8s.io/v1': rbac,
  'admissionregistration.k8s.io/v1': admissionregistration,
};

interface Attribute {
  baseName: string;
  type: string;
}
type ModelClass = { getAttributeTypeMap(): Attribute[] };
const GENERATED = serializer as unknown as Record<string, ModelClass | undefined>;

export function isBuiltinKind(obj: { apiVersion?: unknown; kind?: unknown }): boolean {
  const group = MODELS[String(obj.apiVersion)];
  return group !== undefined && typeof group[String(obj.kind)] === 'function';
}

/** Every problem with obj as a built-in Kubernetes kind; empty when it is valid. */
export function k8sProblems(obj: Record<string, unknown>): string[] {
  const where = `${String(obj.kind)} ${String((obj.metadata as { name?: string })?.name)}`;
  const group = MODELS[String(obj.apiVersion)];
  const Model = group?.[String(obj.kind)] as Validatable | undefined;
  if (!Model)
    return [`${where}: ${String(obj.apiVersion)} ${String(obj.kind)} is not a known kind`];
  const problems: string[] = [];
  try {
    new Model(obj).validate();
  } catch (err) {
    problems.push(`${where}: ${(err as Error).message}`);
  }
  // The generated client names versioned kinds V1<Kind> (all kinds used here are v1).
  unknownFields(obj, `V1${String(obj.kind)}`, where, problems);
  return problems;
}

function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value))
      value.forEach((v, i) => unknownFields(v, array[1] ?? '', `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value))
        unknownFields(v, map[1] ?? '', `${path}.${k}`, out);
    }
    return;
  }
  const model = GENERATED[type];
  if (!model || typeof value !== 'object' || Array.isArray(value)) return;
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [key, v] of Object.entries(value)) {
    const attrType = attributes.get(key);
    if (attrType === undefined) out.push(`${path}: unknown field "${key}" (not in ${type})`);
    else unknownFields(v, attrType, `${path}.${key}`, out);
  }
}
