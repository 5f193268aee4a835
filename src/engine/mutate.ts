// The mutating webhook's two changes. Invariant: a resolved default is never written onto an
// existing NodePool, because HyperShift hashes the explicit field into the rollout config and a
// webhook that filled it into every pool could roll a whole fleet. Only sticky-default touches an
// UPDATE, and it only puts back what pin-on-create wrote.
import { annotation, isObject, type NodePool } from '../k8s/objects.js';
import type { Policy } from '../policy/types.js';
import type { PoolFacts } from './facts.js';
import { ANNOTATIONS, type Finding, type JsonPatchOperation } from './types.js';

export interface Mutation {
  patch: JsonPatchOperation[];
  findings: Finding[];
}

const NONE: Mutation = { patch: [], findings: [] };

export function pinOnCreate(next: PoolFacts, policy: Policy): Mutation {
  if (!policy.pinOnCreate || !next.crdHasField || next.explicit !== undefined) return NONE;
  if (!isObject(next.pool.spec)) return NONE;
  if (next.effective.kind !== 'stream') {
    const why = next.effective.reason;
    return {
      patch: [],
      findings: [
        {
          rule: 'context',
          severity: 'warn',
          message: `spec.osImageStream was not pinned on NodePool ${next.key}: ${why}`,
          summary: 'stream not pinned on create: it could not be resolved',
          subject: next.key,
        },
      ],
    };
  }
  const stream = next.effective.stream;
  return {
    patch: [
      { op: 'add', path: '/spec/osImageStream', value: { name: stream } },
      ...annotationPatch(next.pool, stream),
    ],
    findings: [
      {
        rule: 'pin-on-create',
        severity: 'warn',
        message: `spec.osImageStream.name set to ${stream}, the stream release ${next.release?.version?.raw ?? next.releaseImage} resolves to, so a later release change cannot flip it silently (recorded in ${ANNOTATIONS.defaultedStream})`,
        summary: `spec.osImageStream.name pinned to ${stream} (the release default)`,
        subject: next.key,
      },
    ],
  };
}

export function stickyDefault(old: NodePool, next: PoolFacts): Mutation {
  const pinned = old.spec?.osImageStream?.name;
  if (typeof pinned !== 'string' || next.explicit !== undefined) return NONE;
  if (annotation(old, ANNOTATIONS.defaultedStream) !== pinned) return NONE;
  if (!isObject(next.pool.spec)) return NONE;
  const patch: JsonPatchOperation[] = [
    { op: 'add', path: '/spec/osImageStream', value: { name: pinned } },
  ];
  if (annotation(next.pool, ANNOTATIONS.defaultedStream) !== pinned) {
    patch.push(...annotationPatch(next.pool, pinned));
  }
  return {
    patch,
    findings: [
      {
        rule: 'sticky-default',
        severity: 'warn',
        message: `spec.osImageStream.name: ${pinned} restored on NodePool ${next.key}: streamguard pinned it on create and the applied manifest does not carry it (a full-replace apply); removing it is not allowed`,
        summary: `spec.osImageStream.name: ${pinned} (pinned on create) restored`,
        subject: next.key,
      },
    ],
  };
}

/** JSON Pointer escaping (RFC 6901): `/` in the annotation key becomes `~1`. */
function annotationPatch(pool: NodePool, stream: string): JsonPatchOperation[] {
  const key = ANNOTATIONS.defaultedStream;
  const metadata = pool.metadata;
  if (!isObject(metadata)) {
    return [{ op: 'add', path: '/metadata', value: { annotations: { [key]: stream } } }];
  }
  if (!isObject(metadata.annotations)) {
    return [{ op: 'add', path: '/metadata/annotations', value: { [key]: stream } }];
  }
  const pointer = `/metadata/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  return [{ op: 'add', path: pointer, value: stream }];
}
