// Where the webhook gets its decision context. The file source loads the policy and the offline
// state, then watches both: a good new file replaces the old one atomically (one assignment), a
// bad one is refused, logged and counted, and the last good one stays in force.
import type { AdmissionRequestLike, DecisionContext } from '../engine/types.js';
import { watchPaths, type Watcher } from '../fsutil/watch.js';
import { loadPolicyFile } from '../policy/file.js';
import type { Policy } from '../policy/types.js';
import { loadState, type LoadedState } from '../state/load.js';
import type { Logger } from './logger.js';
import type { WebhookMetrics } from './metrics.js';

export interface ContextSource {
  /** The context in force, or undefined before the first successful load. */
  current(): DecisionContext | undefined;
  /** The context once one is loaded: at once when it is. */
  ready(): Promise<DecisionContext>;
  /** The policy in force (for decisions made without context). */
  policy(): Policy;
  /**
   * Something this request needs that is being fetched (a release's data), or undefined when
   * everything is in memory. Sources that never fetch on demand leave it out.
   */
  pendingFor?(request: AdmissionRequestLike): Promise<unknown> | undefined;
  close(): void;
}

export interface FileContextOptions {
  statePath?: string;
  policyPath?: string;
  logger: Logger;
  metrics: WebhookMetrics;
  watch?: { debounceMs?: number; pollMs?: number };
}

export class FileContextSource implements ContextSource {
  #policy!: Policy;
  #state!: LoadedState;
  #context: DecisionContext | undefined;
  #watchers: Watcher[] = [];
  readonly #options: FileContextOptions;

  private constructor(options: FileContextOptions) {
    this.#options = options;
  }

  /** Loads both files; a bad file at startup is an error (nothing to fall back to). */
  static async open(options: FileContextOptions): Promise<FileContextSource> {
    const source = new FileContextSource(options);
    const [policy, state] = await Promise.all([
      loadPolicyFile(options.policyPath),
      loadState(options.statePath),
    ]);
    source.#policy = policy;
    source.#state = state;
    source.#publish();
    source.#watch();
    return source;
  }

  current(): DecisionContext | undefined {
    return this.#context;
  }

  ready(): Promise<DecisionContext> {
    return Promise.resolve(this.#context as DecisionContext);
  }

  policy(): Policy {
    return this.#policy;
  }

  close(): void {
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
  }

  #publish(): void {
    this.#context = {
      policy: this.#policy,
      releases: this.#state.releases,
      cluster: this.#state.cluster,
    };
  }

  #watch(): void {
    const { policyPath, statePath, watch } = this.#options;
    if (policyPath) {
      this.#watchers.push(watchPaths([policyPath], () => void this.reloadPolicy(), watch));
    }
    if (statePath) {
      this.#watchers.push(watchPaths([statePath], () => void this.reloadState(), watch));
    }
  }

  /** Re-reads the policy file; exposed for tests and for an explicit reload. */
  reloadPolicy(): Promise<boolean> {
    return this.#reload('policy', this.#options.policyPath, async () => {
      this.#policy = await loadPolicyFile(this.#options.policyPath);
    });
  }

  reloadState(): Promise<boolean> {
    return this.#reload('state', this.#options.statePath, async () => {
      this.#state = await loadState(this.#options.statePath);
    });
  }

  /** Loads one source; on failure nothing is replaced, so the last good one stays in force. */
  async #reload(
    source: 'policy' | 'state',
    path: string | undefined,
    load: () => Promise<void>,
  ): Promise<boolean> {
    const { logger, metrics } = this.#options;
    // The policy is a file, the state a directory: log the path under the name that says which.
    const where = source === 'policy' ? { file: path } : { dir: path };
    try {
      await load();
    } catch (err) {
      metrics.reloadFailures.inc({ source });
      logger.error(
        { ...where, err: (err as Error).message },
        `${source} reload refused; the last good ${source} stays in force`,
      );
      return false;
    }
    this.#publish();
    metrics.reloads.inc({ source });
    logger.info(where, `${source} reloaded`);
    return true;
  }
}
