// One resource kept in memory by list + watch (the client library's ListWatch), with what the
// library leaves to its caller:
// - a list or watch *error* stops ListWatch for good, so it is restarted here with backoff; it
//   resumes from the last resourceVersion, and relists when the server says 410 Gone;
// - while it relists, the previous objects stay in place and the new list is applied in one
//   synchronous step, so readers never see a half-empty cache;
// - objects are prepared (apiVersion/kind restored, managedFields and unread data dropped) before
//   they are stored, for lists and watch events alike;
// - watches ask for bookmarks, so a quiet resource still advances its resourceVersion and a
//   reconnect rarely needs a relist.
import {
  ADD,
  DELETE,
  ERROR,
  ListWatch,
  UPDATE,
  Watch,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { KubeObject } from '../k8s/objects.js';
import { KubeError } from './errors.js';
import { listAll, withType } from './list.js';
import type { Resource } from './resources.js';

export interface Backoff {
  initialMs: number;
  maxMs: number;
  /** Wait between half and all of the delay, so replicas do not retry in step. */
  jitter?: boolean;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1_000, maxMs: 30_000, jitter: true };

export interface InformerOptions {
  kc: KubeConfig;
  resource: Resource;
  /** Applied to every stored object (after apiVersion/kind are restored). */
  prepare?: (obj: KubeObject) => KubeObject;
  /** An object was added, changed or deleted (given), or the first list arrived (none). */
  onChange: (obj?: KubeObject) => void;
  /** A list or watch failed; it is retried in `retryMs`. */
  onError?: (err: Error, retryMs: number) => void;
  backoff?: Backoff;
}

export class ResourceInformer {
  readonly resource: Resource;
  readonly #lw: ListWatch<KubernetesObject>;
  readonly #options: InformerOptions;
  readonly #backoff: Backoff;
  #retryMs: number;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;
  #synced = false;
  /** An optional resource found not installed (reported once). */
  #absent = false;
  #onSynced: (() => void)[] = [];

  constructor(options: InformerOptions) {
    this.#options = options;
    this.resource = options.resource;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#retryMs = this.#backoff.initialMs;
    const prepare = (obj: KubeObject) =>
      (options.prepare ?? ((o: KubeObject) => o))(withType(options.resource, obj));
    const watch = new PreparingWatch(
      options.kc,
      prepare,
      () => this.#listed(),
      () => !this.#stopped,
      () => this.#healthy(),
    );
    this.#lw = new ListWatch(
      options.resource.path,
      watch,
      async () => {
        const { items, resourceVersion } = await listAll(options.kc, options.resource, prepare);
        this.#healthy();
        return { items: items as KubernetesObject[], metadata: { resourceVersion } };
      },
      false,
      undefined,
      options.resource.fieldSelector,
    );
    const changed = (obj: KubernetesObject) => options.onChange(obj as KubeObject);
    for (const verb of [ADD, UPDATE, DELETE] as const) this.#lw.on(verb, changed);
    this.#lw.on(ERROR, (err: unknown) => this.#failed(err));
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#lw.start();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    void this.#lw.stop();
  }

  /** True once a first list has been applied (or an optional resource proved absent). */
  synced(): boolean {
    return this.#synced;
  }

  whenSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#onSynced.push(resolve));
  }

  /** The stored objects (prepared), in no particular order. */
  objects(): KubeObject[] {
    return this.#lw.list() as KubeObject[];
  }

  /**
   * ListWatch starts a watch after each list it applied, and after each reconnect. It does not
   * look whether it was stopped while a list was in flight: false here means "do not watch".
   */
  #listed(): boolean {
    if (this.#stopped) return false;
    this.#markSynced();
    return true;
  }

  /** A list or a watch event arrived: the next failure starts the backoff afresh. */
  #healthy(): void {
    this.#retryMs = this.#backoff.initialMs;
    this.#absent = false;
  }

  #markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    for (const resolve of this.#onSynced.splice(0)) resolve();
    this.#options.onChange();
  }

  #failed(err: unknown): void {
    if (this.#stopped) return;
    const error = err instanceof Error ? err : new Error(String(err));
    let retryMs = this.#retryMs;
    let report = true;
    if (this.resource.optional && statusOf(err) === 404) {
      // Not installed here: an empty, synced resource, looked for again now and then (said once).
      retryMs = this.#backoff.maxMs;
      report = !this.#absent;
      this.#absent = true;
      this.#markSynced();
    } else {
      this.#retryMs = Math.min(this.#retryMs * 2, this.#backoff.maxMs);
    }
    if (this.#backoff.jitter) retryMs = Math.round(retryMs / 2 + (Math.random() * retryMs) / 2);
    if (report) this.#options.onError?.(error, retryMs);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (this.#stopped) return;
      void this.#lw.start();
    }, retryMs);
    this.#timer.unref();
  }
}

function statusOf(err: unknown): number | undefined {
  if (err instanceof KubeError) return err.status;
  const e = err as { statusCode?: unknown; code?: unknown } | null;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return typeof e?.code === 'number' ? e.code : undefined;
}

/** The library's Watch, asking for bookmarks and preparing each event's object. */
class PreparingWatch extends Watch {
  readonly #prepare: (obj: KubeObject) => KubeObject;
  readonly #started: () => boolean;
  readonly #running: () => boolean;
  readonly #event: () => void;

  constructor(
    kc: KubeConfig,
    prepare: (obj: KubeObject) => KubeObject,
    started: () => boolean,
    running: () => boolean,
    event: () => void,
  ) {
    super(kc);
    this.#prepare = prepare;
    this.#started = started;
    this.#running = running;
    this.#event = event;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    // Stopped: no request, and `done` is never called, so ListWatch stays idle.
    if (!this.#started()) return new AbortController();
    const controller = await super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true },
      (phase, obj: KubeObject, raw) => {
        if (phase !== 'ERROR') this.#event();
        const stored = phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED';
        callback(phase, stored ? this.#prepare(obj) : obj, raw);
      },
      done,
    );
    // Stopped while the request was being made (ListWatch.stop could not reach it yet).
    if (!this.#running()) controller.abort();
    return controller;
  }
}
