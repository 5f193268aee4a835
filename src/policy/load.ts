// Reads a StreamPolicy file: YAML, checked against schemas/streampolicy.schema.json, with the
// defaults of DESIGN.md's table filled in. Every problem is reported at once in a PolicyError.
import { isScalar, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { flowNestingExceeded, MAX_FLOW_NESTING } from '../k8s/nesting.js';
import { isObject } from '../k8s/objects.js';
import { DEFAULT_ACTIONS, DEFAULT_RHEL10_MINIMUM } from './defaults.js';
import { PolicyError } from './errors.js';
import { schemaProblems } from './messages.js';
import { validatePolicyDocument, type PolicyDocument } from './schema.js';
import { CONFIGURABLE_RULES, type Action, type Policy } from './types.js';
import { decodeUtf8 } from './utf8.js';
import { structureProblems } from './yaml-checks.js';

export { defaultPolicy } from './defaults.js';
export { PolicyError } from './errors.js';

/** A policy is a few dozen lines; anything much larger is the wrong file. */
export const MAX_POLICY_BYTES = 1024 * 1024;

const RELEASE = /^[0-9]{1,6}\.[0-9]{1,6}$/;

/** Parses policy bytes, rejecting input that is not UTF-8. `source` names the file in messages. */
export function parsePolicyBytes(bytes: Uint8Array, source: string): Policy {
  if (bytes.length > MAX_POLICY_BYTES) throw tooLarge(source);
  const decoded = decodeUtf8(bytes);
  if ('error' in decoded) throw new PolicyError([`${source}: ${decoded.error}`]);
  return parsePolicy(decoded.text, source);
}

/** Parses policy text. Throws only PolicyError. */
export function parsePolicy(text: string, source: string): Policy {
  if (text.length > MAX_POLICY_BYTES) throw tooLarge(source);
  const { value, problems } = readYaml(text, source);
  if (!isObject(value)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
    throw new PolicyError([
      ...problems,
      `${source}: expected a StreamPolicy mapping (apiVersion: streamguard.io/v1alpha1, kind: StreamPolicy), got ${got}`,
    ]);
  }
  if (validatePolicyDocument(value)) {
    if (problems.length === 0) return buildPolicy(value, source);
  } else {
    // `__proto__` keys were reported above with their line; ajv would add an "unknown field".
    const errors = (validatePolicyDocument.errors ?? []).filter(
      (e) => e.params.additionalProperty !== '__proto__',
    );
    problems.push(...schemaProblems(errors, source));
  }
  throw new PolicyError(problems);
}

function tooLarge(source: string): PolicyError {
  return new PolicyError([
    `${source}: larger than ${MAX_POLICY_BYTES} bytes; is this a policy file?`,
  ]);
}

function readYaml(text: string, file: string): { value: unknown; problems: string[] } {
  const deep = flowNestingExceeded(text);
  if (deep !== undefined) {
    throw new PolicyError([
      `${file}: nested more than ${MAX_FLOW_NESTING} levels deep at offset ${deep}; is this a policy file?`,
    ]);
  }
  const lines = new LineCounter();
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  // Duplicate keys are found by structureProblems, which can name the key's path.
  const docs = parseAllDocuments(body, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: false,
    // Problems are reported as PolicyErrors, not as process warnings on stderr.
    logLevel: 'error',
  });
  const syntax = [...docs].flatMap((doc) =>
    doc.errors.map((error) => {
      const { line, col } = lines.linePos(error.pos[0]);
      return `${file}:${line}:${col}: YAML syntax error: ${error.message}`;
    }),
  );
  if (syntax.length > 0) throw new PolicyError(syntax);
  const present = [...docs].filter((doc) => doc.contents !== null);
  const [doc] = present;
  if (doc === undefined) {
    throw new PolicyError([
      `${file}: the file is empty; expected a StreamPolicy (apiVersion: streamguard.io/v1alpha1, kind: StreamPolicy)`,
    ]);
  }
  if (present.length > 1) {
    throw new PolicyError([
      `${file}: holds ${present.length} YAML documents; a policy file holds one`,
    ]);
  }
  const problems = structureProblems(doc.contents, lines, file);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new PolicyError([...problems, `${file}: YAML: ${(error as Error).message}`]);
  }
  return { value: releaseFromSource(value, doc), problems };
}

/**
 * `rhel10MinimumRelease: 5.10` unquoted is the YAML number 5.1; read what was written instead,
 * so the natural spelling means what it says.
 */
function releaseFromSource(value: unknown, doc: Document): unknown {
  const node = doc.getIn(['spec', 'rhel10MinimumRelease'], true);
  if (!isScalar(node) || typeof node.value !== 'number' || !RELEASE.test(node.source ?? '')) {
    return value;
  }
  if (isObject(value) && isObject(value.spec)) value.spec.rhel10MinimumRelease = node.source;
  return value;
}

function buildPolicy(doc: PolicyDocument, source: string): Policy {
  const spec = doc.spec ?? {};
  const rules = spec.rules ?? {};
  const actions = Object.fromEntries(
    CONFIGURABLE_RULES.map((id) => [id, (rules[id] as Action | undefined) ?? DEFAULT_ACTIONS[id]]),
  ) as Policy['actions'];
  const raw = spec.rhel10MinimumRelease ?? DEFAULT_RHEL10_MINIMUM;
  const [major = 0, minor = 0] = raw.split('.').map(Number);
  const disconnected = spec.disconnected ?? 'auto';
  return Object.freeze({
    source,
    actions: Object.freeze(actions),
    noDowngradeReplace: rules['no-downgrade']?.replace ?? 'deny',
    rhel10Minimum: Object.freeze({ major, minor, raw }),
    onMissingContext: spec.onMissingContext ?? 'warn',
    pinOnCreate: spec.pinOnCreate ?? true,
    disconnected:
      typeof disconnected === 'boolean' ? (String(disconnected) as 'true' | 'false') : disconnected,
    exemptions: Object.freeze({
      users: Object.freeze([...(spec.exemptions?.users ?? [])]),
      groups: Object.freeze([...(spec.exemptions?.groups ?? [])]),
    }),
  });
}
