// What the live context needs of release data and mirror presence (LiveReleaseCatalog and
// MirrorPresence, or anything shaped like them): synchronous reads for the engine, asynchronous
// fetches started ahead of admission.
import type { ReleaseCatalog } from '../catalog/types.js';
import type { MirrorEntry } from '../mirror/presence-sources.js';
import type { PullSecret } from '../release/pull-secret.js';

export interface FetchingReleaseCatalog extends ReleaseCatalog {
  /** Starts (or joins) the one fetch of a release; no-op when it is in memory. */
  prefetch(pullspec: string, pullSecret?: PullSecret): void;
  /** Settles when the release's data is in memory or its fetch failed; never rejects. */
  whenFetched(pullspec: string, pullSecret?: PullSecret): Promise<unknown>;
  status(pullspec: string): 'unknown' | 'pending' | 'fetched' | 'failed';
  /** Set while the last attempt failed, also during a retry ('pending' again). */
  failure(pullspec: string): unknown;
}

export interface PrefetchingPresence {
  /** Synchronous cache read: a mirror was seen holding this digest. */
  has(digest: string): boolean;
  prefetch(
    refs: readonly string[],
    entries: readonly MirrorEntry[],
    pullSecret?: PullSecret,
  ): Promise<void>;
}
