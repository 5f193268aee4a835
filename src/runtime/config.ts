// Public entry for NodePool `spec.config` ConfigMaps: parsing and the mirror sets they add.
// (runc detection is in detect.ts.)
export { mirrorSetsFromConfig } from './mirrors.js';
export { clearConfigCache, parseNodePoolConfig } from './parse-config.js';
export type { ConfigMapLike, ParsedConfig } from './types.js';
