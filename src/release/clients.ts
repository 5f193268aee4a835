// Registry clients by pull secret, shared by the live release catalog and mirror presence.
//
// API: `new RegistryClients({ client, maxClients })`; `use(pullSecret, fn)` runs `fn` with the
// client for that pull secret (one per distinct secret contents, so tokens and connections are
// reused; no secret: a client with `client`'s own credentials, usually none in a cluster);
// `close()`. At most `maxClients` are kept: the least recently used idle one is closed first, a
// busy one only when its last user is done, so no request is ever cut off by eviction.

import { RegistryClient, type RegistryClientOptions } from '../registry/client.js';
import type { PullSecret } from './pull-secret.js';

export type SharedClientOptions = Omit<RegistryClientOptions, 'credentials'>;

export interface RegistryClientsOptions {
  /** Options of every client (transport, retries, cache dir, request hook, test registries). */
  client?: SharedClientOptions;
  /** Clients kept open (default 16): a management cluster has few distinct pull secrets. */
  maxClients?: number;
}

interface Slot {
  client: RegistryClient;
  users: number;
  evicted: boolean;
}

const ANONYMOUS = '';

export class RegistryClients {
  readonly #options: SharedClientOptions;
  readonly #max: number;
  /** Insertion order is recency order: `use` re-inserts. */
  readonly #slots = new Map<string, Slot>();
  #closed = false;

  constructor(options: RegistryClientsOptions = {}) {
    this.#options = options.client ?? {};
    this.#max = options.maxClients ?? 16;
    if (!Number.isInteger(this.#max) || this.#max < 1) {
      throw new RangeError(`maxClients must be a positive integer, got ${String(this.#max)}`);
    }
  }

  async use<T>(
    pullSecret: PullSecret | undefined,
    fn: (client: RegistryClient) => Promise<T>,
  ): Promise<T> {
    if (this.#closed) throw new Error('registry clients are closed');
    const key = pullSecret?.id ?? ANONYMOUS;
    let slot = this.#slots.get(key);
    if (slot) {
      this.#slots.delete(key);
    } else {
      const credentials = pullSecret?.credentials();
      slot = {
        client: new RegistryClient({ ...this.#options, ...(credentials ? { credentials } : {}) }),
        users: 0,
        evicted: false,
      };
    }
    this.#slots.set(key, slot);
    this.#evict();
    slot.users++;
    try {
      return await fn(slot.client);
    } finally {
      slot.users--;
      if (slot.evicted && slot.users === 0) void slot.client.close();
    }
  }

  /** Clients open now (for tests and metrics). */
  get size(): number {
    return this.#slots.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const slots = [...this.#slots.values()];
    this.#slots.clear();
    await Promise.all(slots.map((s) => s.client.close()));
  }

  #evict(): void {
    for (const [key, slot] of this.#slots) {
      if (this.#slots.size <= this.#max) return;
      this.#slots.delete(key);
      slot.evicted = true;
      if (slot.users === 0) void slot.client.close();
    }
  }
}
