// buildPlan: release data in, plan files out, byte for byte the same for the same input
// (whatever the order of releases and components).

import { planImages } from './images.js';
import { imageSetConfigFiles } from './imageset-config.js';
import { renderMapping } from './mapping.js';
import { mirrorSetImages, mirrorSets, renderMirrorSets } from './mirror-sets.js';
import { renderImagesJson, renderSummary } from './summary.js';
import type { PlanFiles, PlanOptions, ReleaseData } from './types.js';

export function buildPlan(releases: readonly ReleaseData[], options: PlanOptions): PlanFiles {
  const plan = planImages(releases, options);
  const sets = mirrorSets(mirrorSetImages(plan.images), {
    forceRepositoryScope: options.maxNestedPaths > 0,
    mirrorSourcePolicy: options.mirrorSourcePolicy,
  });
  const files: PlanFiles = new Map(imageSetConfigFiles(plan));
  // As oc-mirror, no file for an empty kind (a digest-pinned release has nothing by tag).
  if (sets.idms.length > 0) files.set('idms.yaml', renderMirrorSets(sets.idms));
  if (sets.itms.length > 0) files.set('itms.yaml', renderMirrorSets(sets.itms));
  files.set('mapping.txt', renderMapping(plan.images));
  files.set('images.json', renderImagesJson(plan));
  files.set('summary.md', renderSummary(plan, [...files.keys(), 'summary.md']));
  return files;
}
