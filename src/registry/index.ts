export {
  RegistryClient,
  nextLink,
  type LayerScanResult,
  type Manifest,
  type ManifestHead,
  type PushBlobResult,
  type RegistryClientOptions,
} from './client.js';
export { RegistryError, redact, type RegistryErrorCode } from './errors.js';
export type { RequestEvent, RequestKind, RequestStats } from './http.js';
export {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  MANIFEST_ACCEPT,
  OCI_INDEX,
  OCI_MANIFEST,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type ManifestJson,
  type Platform,
} from './manifest.js';
export {
  familiarReference,
  formatReference,
  manifestReference,
  parseReference,
  parseRepository,
  registryApiHost,
  type ImageReference,
} from './reference.js';
export { digestOf, isDigest } from './digest.js';
export type { Credentials } from './authfile.js';
export type { RetryOptions } from './retry.js';
