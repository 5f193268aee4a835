// A mirror inventory ConfigMap lists image digests known to be present in a mirror registry, so
// the `mirrored` rule can be checked offline. A malformed line is an input error, not a miss.

import { ANNOTATIONS } from '../engine/types.js';
import type { ConfigMap } from '../k8s/objects.js';
import { StateError } from './errors.js';
import { describeObject } from './source.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isMirrorInventory(cm: ConfigMap): boolean {
  return typeof cm.metadata?.annotations?.[ANNOTATIONS.mirrorInventory] === 'string';
}

/** The digests of an inventory ConfigMap's `data.digests` (blank lines ignored). */
export function inventoryDigests(cm: ConfigMap): string[] {
  const where = describeObject(cm);
  if (!cm.metadata?.annotations?.[ANNOTATIONS.mirrorInventory]?.trim()) {
    throw new StateError(where, `annotation ${ANNOTATIONS.mirrorInventory} must name the mirror`);
  }
  const text = cm.data?.digests;
  if (typeof text !== 'string') {
    throw new StateError(where, 'a mirror inventory needs data.digests (one sha256 digest a line)');
  }
  const digests: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    if (!DIGEST.test(line)) {
      throw new StateError(
        where,
        `data.digests line ${i + 1}: ${JSON.stringify(line)} is not a sha256:<64 lowercase hex> digest`,
      );
    }
    digests.push(line);
  });
  return digests;
}
