import { annotation } from '../../k8s/objects.js';
import { ANNOTATIONS } from '../types.js';
import type { Rule } from './types.js';

/** Upstream CEL forbids removing an explicit stream; the sticky-default mutation restores pins. */
export const noRemoval: Rule = {
  id: 'no-removal',
  ratchet: false,
  check({ operation, old, next }) {
    if (operation !== 'UPDATE' || old?.explicit === undefined || next.explicit !== undefined) {
      return [];
    }
    const pinned = annotation(old.pool, ANNOTATIONS.defaultedStream) === old.explicit;
    const hint = pinned
      ? ` The value was pinned by streamguard on create: its mutating webhook puts it back when it runs, so check that the mutating webhook is installed, or add spec.osImageStream.name: ${old.explicit} to the manifest`
      : ` Keep spec.osImageStream.name: ${old.explicit} in the manifest`;
    return [
      {
        rule: 'no-removal',
        message: `osImageStream cannot be removed once set; create a new NodePool instead (NodePool ${next.key} had ${old.explicit}).${hint}`,
        summary: `osImageStream cannot be removed once set (was ${old.explicit})`,
      },
    ];
  },
};
