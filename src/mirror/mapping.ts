// mapping.txt in the format of oc-mirror v2's dry run (internal/pkg/cli/dryrun.go):
// `docker://<source>=docker://<destination>`, one line per image. Lines are sorted, so the same
// plan always gives the same bytes.

import { compareText } from './ref.js';
import type { PlannedImage } from './types.js';

export function mappingLine(image: PlannedImage): string {
  return `docker://${image.source}=docker://${image.destination}`;
}

export function renderMapping(images: readonly PlannedImage[]): string {
  const lines = images.map(mappingLine).sort(compareText);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
