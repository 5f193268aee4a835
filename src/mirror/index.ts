// The mirror planner's public API: pure planning (buildPlan) and the one writer (writePlanDir).

export { buildPlan } from './plan.js';
export { writePlanDir, nodePlanFs } from './write.js';
export type { PlanFs, WritePlanOptions, WritePlanResult } from './write.js';
export { PlanError, PlanExistsError } from './errors.js';
export { componentsFromImageReferences, planImages, streamOfTag } from './images.js';
export { mirrorSets, renderMirrorSets } from './mirror-sets.js';
export type { MirrorImageType, MirrorSetImage, MirrorSets } from './mirror-sets.js';
export type {
  ComponentImage,
  ImagePlan,
  MirrorSourcePolicy,
  PlanFiles,
  PlanOptions,
  PlannedImage,
  ReleaseData,
} from './types.js';
