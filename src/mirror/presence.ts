// Live mirror presence for the `mirrored` rule: is a node image digest in the cluster's mirror?
//
// API (what the live cluster context calls):
// - `prefetch(refs, entries, pullSecret?)`: for each digest reference a mirror entry covers
//   (presence-sources.ts), HEAD `/v2/<repo>/manifests/<digest>` on its mirrors in order until one
//   has it; resolves when every check has settled (never rejects). Concurrent checks of one
//   digest share one set of requests;
// - `has(digest)`: synchronous cache read, true when a mirror was seen holding it or a mirror
//   inventory ConfigMap (`streamguard mirror verify`) lists it;
// - `status(digest)`: 'present' | 'absent' | 'error' | 'pending' | 'unknown';
// - `useInventories(configMaps)`: replaces the inventory digests (malformed ones are logged and
//   skipped, so one bad ConfigMap cannot hide the others).
// A present digest is cached for good (content-addressed); an absent one, or one no mirror could
// be asked about, for `negativeTtlMs`, and only for the same mirrors and pull secret. A reference
// no entry covers is unknown and costs nothing.

import type { Logger } from 'pino';
import { digestOf } from '../engine/mirror-sources.js';
import type { ConfigMap } from '../k8s/objects.js';
import type { RegistryClients } from '../release/clients.js';
import type { PullSecret } from '../release/pull-secret.js';
import { SingleFlight } from '../registry/concurrency.js';
import { isDigest } from '../registry/digest.js';
import { redact } from '../registry/errors.js';
import { parseReference } from '../registry/reference.js';
import { inventoryDigests, isMirrorInventory } from '../state/mirror-inventory.js';
import { mirrorCandidates, type MirrorEntry } from './presence-sources.js';

export type PresenceStatus = 'present' | 'absent' | 'error' | 'pending' | 'unknown';

/** One settled check of a digest, for metrics. */
export interface PresenceCheckEvent {
  digest: string;
  outcome: 'present' | 'absent' | 'error';
  /** HEAD requests made (retries inside the client not counted). */
  heads: number;
  /** The mirror repository that has it. */
  mirror?: string;
  error?: string;
}

export interface MirrorPresenceOptions {
  clients: RegistryClients;
  /** How long an absent (or unreachable) digest is believed absent. Default 5 minutes. */
  negativeTtlMs?: number;
  /** Present digests kept (oldest forgotten first). Default 65 536. */
  maxDigests?: number;
  logger?: Logger;
  onCheck?: (event: PresenceCheckEvent) => void;
  now?: () => number;
}

interface Negative {
  outcome: 'absent' | 'error';
  until: number;
  /** The pull secret and mirror repositories asked: new ones deserve a new look. */
  key: string;
}

export class MirrorPresence {
  readonly #clients: RegistryClients;
  readonly #ttl: number;
  readonly #maxDigests: number;
  readonly #logger: Logger | undefined;
  readonly #onCheck: ((event: PresenceCheckEvent) => void) | undefined;
  readonly #now: () => number;
  readonly #present = new Set<string>();
  readonly #negative = new Map<string, Negative>();
  readonly #checks = new SingleFlight<void>();
  readonly #pending = new Set<string>();
  /** Last message logged at warn level per digest, so a repeated error is logged once. */
  readonly #logged = new Map<string, string>();
  #inventory = new Set<string>();

  constructor(options: MirrorPresenceOptions) {
    this.#clients = options.clients;
    this.#ttl = options.negativeTtlMs ?? 5 * 60_000;
    this.#maxDigests = options.maxDigests ?? 65_536;
    if (!(this.#ttl >= 0) || !Number.isInteger(this.#maxDigests) || this.#maxDigests < 1) {
      throw new RangeError('negativeTtlMs must be >= 0 and maxDigests a positive integer');
    }
    this.#logger = options.logger;
    this.#onCheck = options.onCheck;
    this.#now = options.now ?? Date.now;
  }

  has(digest: string): boolean {
    return this.#present.has(digest) || this.#inventory.has(digest);
  }

  status(digest: string): PresenceStatus {
    if (this.has(digest)) return 'present';
    if (this.#pending.has(digest)) return 'pending';
    const negative = this.#negative.get(digest);
    return negative && this.#now() < negative.until ? negative.outcome : 'unknown';
  }

  async prefetch(
    refs: readonly string[],
    entries: readonly MirrorEntry[],
    pullSecret?: PullSecret,
  ): Promise<void> {
    const checks: Promise<void>[] = [];
    for (const ref of new Set(refs)) {
      const digest = digestOf(ref);
      if (digest === undefined || !isDigest(digest) || this.has(digest)) continue;
      const mirrors = mirrorCandidates(ref, entries);
      if (mirrors.length === 0) continue;
      // Another pull secret may see what this one could not: it deserves a new look too.
      const joined = `${pullSecret?.id ?? ''} ${mirrors.join(' ')}`;
      const negative = this.#negative.get(digest);
      if (negative && negative.key === joined && this.#now() < negative.until) continue;
      checks.push(
        this.#checks.run(`${digest} ${joined}`, () =>
          this.#check(digest, mirrors, joined, pullSecret),
        ),
      );
    }
    await Promise.all(checks);
  }

  useInventories(configMaps: readonly ConfigMap[]): void {
    const digests = new Set<string>();
    for (const cm of configMaps) {
      if (!isMirrorInventory(cm)) continue;
      try {
        for (const digest of inventoryDigests(cm)) digests.add(digest);
      } catch (err) {
        this.#logger?.warn({ error: describe(err) }, 'mirror inventory skipped');
      }
    }
    this.#inventory = digests;
  }

  /** HEADs the mirrors in order until one has the digest; settles the caches, never rejects. */
  async #check(
    digest: string,
    mirrors: readonly string[],
    key: string,
    pullSecret: PullSecret | undefined,
  ) {
    this.#pending.add(digest);
    let heads = 0;
    const errors: string[] = [];
    try {
      for (const mirror of mirrors) {
        let found;
        try {
          const ref = parseReference(`${mirror}@${digest}`);
          heads++;
          found = await this.#clients.use(pullSecret, (client) => client.headManifest(ref));
        } catch (err) {
          errors.push(describe(err));
          continue;
        }
        if (found) {
          this.#remember(digest);
          this.#negative.delete(digest);
          this.#logged.delete(digest);
          this.#onCheck?.({ digest, outcome: 'present', heads, mirror });
          return;
        }
      }
      // Absent only when every mirror said so; an unreachable mirror might have it.
      const outcome = errors.length > 0 ? 'error' : 'absent';
      this.#negative.set(digest, {
        outcome,
        until: this.#now() + this.#ttl,
        key,
      });
      trim(this.#negative, this.#maxDigests);
      const error = errors.join('; ');
      if (outcome === 'error' && this.#logged.get(digest) !== error) {
        this.#logged.set(digest, error);
        trim(this.#logged, this.#maxDigests);
        this.#logger?.warn({ digest, error }, 'mirror presence not checked');
      } else {
        this.#logger?.debug({ digest, outcome, mirrors }, 'digest not found in the mirrors');
      }
      this.#onCheck?.({ digest, outcome, heads, ...(error ? { error } : {}) });
    } finally {
      this.#pending.delete(digest);
    }
  }

  #remember(digest: string): void {
    this.#present.add(digest);
    if (this.#present.size <= this.#maxDigests) return;
    const oldest = this.#present.values().next().value;
    if (oldest !== undefined) this.#present.delete(oldest);
  }
}

function describe(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err));
}

/** Forgets the oldest entries of a map over `max`. */
function trim(map: Map<string, unknown>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}
