import type { Rule } from './types.js';

/**
 * Without the OSStreams gate the installed CRD has no spec.osImageStream: the API server prunes
 * it silently and a GitOps tool shows endless drift.
 */
export const fieldSupported: Rule = {
  id: 'field-supported',
  ratchet: true,
  check({ next }) {
    if (next.explicit === undefined || next.crdHasField) return [];
    return [
      {
        rule: 'field-supported',
        message: `spec.osImageStream is set on NodePool ${next.key} but the installed NodePool CRD has no such field (HyperShift OSStreams feature gate off): the API server will prune it, nodes stay on rhel-9, and GitOps tools will show endless drift. Remove the field, or install the TechPreviewNoUpgrade CRDs`,
        summary: 'spec.osImageStream is not in the installed NodePool CRD; it will be pruned',
      },
    ];
  },
};
