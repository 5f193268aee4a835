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
  ImageSize,
  MirrorSourcePolicy,
  PlanFiles,
  PlanOptions,
  PlannedImage,
  ReleaseData,
} from './types.js';
export {
  DEFAULT_INVENTORY_NAME,
  DEFAULT_INVENTORY_NAMESPACE,
  inventoryConfigMap,
  parsePlanImages,
  readPlanImages,
  renderInventory,
  verifyPlan,
  verifyPlanImages,
} from './verify.js';
export type { PlanImage, PlanImages, VerifyOptions, VerifyResult } from './verify.js';
export {
  PLAN_ARTIFACT_TYPE,
  PLAN_FILE_MEDIA_TYPE,
  parseOciTarget,
  planArtifact,
  publishPlan,
  pullPlan,
  readPlanDir,
} from './publish.js';
export type { PublishResult, PublishedFile, PullResult } from './publish.js';
