// Validates objects against a CustomResourceDefinition's openAPIV3Schema with ajv. The
// Kubernetes structural-schema extensions (x-kubernetes-*) are annotations to ajv; CEL rules in
// x-kubernetes-validations are not evaluated here (the engine has its own tests against
// upstream's CEL suite).
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { isObject } from './objects.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv, formats?: string[]) => Ajv;

const K8S_KEYWORDS = [
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
];

export function crdValidator(crd: unknown, version: string): ValidateFunction {
  const versions =
    isObject(crd) && isObject(crd.spec) && Array.isArray(crd.spec.versions)
      ? crd.spec.versions
      : [];
  const entry = versions.find((v: unknown) => isObject(v) && v.name === version) as
    { schema?: { openAPIV3Schema?: object } } | undefined;
  const schema = entry?.schema?.openAPIV3Schema;
  if (!schema) throw new Error(`CRD has no openAPIV3Schema for version ${version}`);
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv, ['date-time', 'uuid']);
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  for (const keyword of K8S_KEYWORDS) ajv.addKeyword(keyword);
  return ajv.compile(schema);
}
