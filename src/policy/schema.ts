// The StreamPolicy JSON Schema (schemas/streampolicy.schema.json), compiled once per process.
// The file sits at the package root so the README and editors can use it too; the relative URL
// holds from both src/policy/ and dist/policy/.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

/** The document shape the schema admits (every field optional past apiVersion and kind). */
export interface PolicyDocument {
  apiVersion: 'streamguard.io/v1alpha1';
  kind: 'StreamPolicy';
  metadata?: { name?: string };
  spec?: {
    rules?: Partial<Record<string, string>> & {
      'no-downgrade'?: { inPlace?: 'deny'; replace?: 'deny' | 'warn' };
    };
    rhel10MinimumRelease?: string;
    onMissingContext?: 'deny' | 'warn';
    pinOnCreate?: boolean;
    disconnected?: 'auto' | 'true' | 'false' | boolean;
    exemptions?: { users?: string[]; groups?: string[] };
  };
}

export const SCHEMA_URL = new URL('../../schemas/streampolicy.schema.json', import.meta.url);

export const policySchema: Record<string, unknown> = JSON.parse(readFileSync(SCHEMA_URL, 'utf8'));

const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true });
// `x-expected` is our annotation: the message to show when a value fails its node.
ajv.addVocabulary(['x-expected']);

export const validatePolicyDocument: ValidateFunction<PolicyDocument> =
  ajv.compile<PolicyDocument>(policySchema);
