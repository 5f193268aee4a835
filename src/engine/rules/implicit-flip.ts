import type { Rule } from './types.js';

/** A release change that flips an implicit pool's stream (4.x → 5.0) should be a choice. */
export const implicitFlip: Rule = {
  id: 'implicit-flip',
  ratchet: false,
  check({ operation, old, next }) {
    if (operation !== 'UPDATE' || !old || next.explicit !== undefined) return [];
    if (old.releaseImage === next.releaseImage) return [];
    if (old.effective.kind !== 'stream' || next.effective.kind !== 'stream') return [];
    const from = old.effective.stream;
    const to = next.effective.stream;
    if (from === to) return [];
    return [
      {
        rule: 'implicit-flip',
        message: `the release change ${old.release?.version?.raw ?? old.releaseImage} → ${next.release?.version?.raw ?? next.releaseImage} flips the implicit OS stream of NodePool ${next.key} from ${from} to ${to}; pin spec.osImageStream.name: ${from} to stay on ${from}, or set ${to} to make the move explicit`,
        summary: `release change flips implicit stream ${from} → ${to}; pin spec.osImageStream.name`,
      },
    ];
  },
};
