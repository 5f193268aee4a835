// Self-managed TLS in a cluster, for one replica: keeps the shared Secret settled, publishes its
// CA bundle to the webhook configurations, and mirrors the serving pair into local files that the
// CertificateReloader hot-swaps. Every replica runs one; none is special. A periodic re-check
// (and one timed to the next renewal) picks up other replicas' writes and the calendar.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { writeFileAtomic } from '../../fsutil/atomic-write.js';
import type { Logger } from '../../server/logger.js';
import { backoffMs } from './backoff.js';
import { publishCaBundle, readPublished } from './ca-bundle.js';
import { convergeSecret, type Converged } from './converge.js';
import type { Lifetimes } from './plan.js';
import { CA_CRT, TLS_CRT, TLS_KEY, readSecretData } from './secret-data.js';
import { TlsSecretStore } from './secret-store.js';
import { SecretWatch } from './secret-watch.js';
import { PublishedSince } from './published-since.js';

export interface ClusterTlsOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  secretName: string;
  /** Normalized SANs (normalizeSans). */
  sans: string[];
  /** Names of the Validating/MutatingWebhookConfigurations whose caBundle this replica owns. */
  webhookConfigurations: string[];
  /** Where tls.crt, tls.key and ca.crt are written for the reloader. */
  dir: string;
  logger: Logger;
  /** The planner's clock (tests move it); timers always use real time. */
  clock?: () => number;
  lifetimes?: Lifetimes;
  /** Re-check interval. Default 60 s. */
  recheckMs?: number;
  /**
   * How long a CA must have been seen in every webhook configuration before the serving
   * certificate moves to it: API servers pick configuration changes up through their own watch.
   * Default 60 s.
   */
  switchDelayMs?: number;
  /** Watch the Secret for other replicas' writes (falls back to re-checks alone). Default true. */
  watch?: boolean;
}

export interface ClusterTlsFiles {
  certPath: string;
  keyPath: string;
  caPath: string;
}

export class ClusterTls {
  readonly files: ClusterTlsFiles;
  private readonly store: TlsSecretStore;
  private readonly clock: () => number;
  private publishedOnce: boolean;
  private written = { [CA_CRT]: '', [TLS_KEY]: '', [TLS_CRT]: '' };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private pending: Promise<void> | undefined;
  private failures = 0;
  private readonly seen: PublishedSince;
  private stopped = false;
  private watch: SecretWatch | undefined;
  /** The Secret's version at the last pass: the watch starts after it. */
  private resourceVersion: string | undefined;

  constructor(private readonly options: ClusterTlsOptions) {
    this.store = new TlsSecretStore(options.kubeConfig, options.namespace, options.secretName);
    this.clock = options.clock ?? Date.now;
    this.seen = new PublishedSince(options.switchDelayMs ?? 60_000);
    this.publishedOnce = options.webhookConfigurations.length === 0;
    this.files = {
      certPath: join(options.dir, 'tls.crt'),
      keyPath: join(options.dir, 'tls.key'),
      caPath: join(options.dir, 'ca.crt'),
    };
  }

  /** Settles the Secret and writes the files once (errors propagate), then re-checks on a timer. */
  async start(): Promise<ClusterTlsFiles> {
    await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    await this.sync();
    if (this.options.watch !== false && !this.stopped) {
      this.watch = new SecretWatch({
        kubeConfig: this.options.kubeConfig,
        namespace: this.options.namespace,
        name: this.options.secretName,
        onChange: () => void this.sync().catch(() => undefined),
        resourceVersion: () => this.resourceVersion,
        logger: this.options.logger,
      });
      this.watch.start();
    }
    return this.files;
  }

  /**
   * True once a bundle holding the serving certificate's CA is in every named webhook
   * configuration; until then the API server could not verify this replica.
   */
  published(): boolean {
    return this.publishedOnce;
  }

  /**
   * One pass now. While a pass runs, callers share one more pass after it: the running one may
   * have read the Secret before the change they were told about.
   */
  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.pass().finally(() => (this.running = undefined));
      return this.running;
    }
    this.pending ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.pending = undefined;
        return this.sync();
      });
    return this.pending;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watch?.stop();
  }

  private async pass(): Promise<void> {
    clearTimeout(this.timer);
    try {
      const { nextChange, waiting } = await this.passOnce();
      this.failures = 0;
      const untilChange = nextChange > 0 ? nextChange - this.clock() : Infinity;
      const untilSwitch = waiting ? this.seen.delayMs : Infinity;
      this.schedule(Math.max(1_000, Math.min(this.recheckMs(), untilChange, untilSwitch)));
    } catch (err) {
      this.failures += 1;
      const delay = Math.min(this.recheckMs(), 1_000 + backoffMs(this.failures, 1_000, 30_000));
      this.options.logger.error(
        { err: (err as Error).message, retryInMs: Math.round(delay) },
        'self-managed TLS: sync failed; the current certificate keeps serving',
      );
      this.schedule(delay);
      throw err;
    }
  }

  private async passOnce(): Promise<{ nextChange: number; waiting: boolean }> {
    const { kubeConfig: kc, webhookConfigurations: names, logger } = this.options;
    const base = { sans: this.options.sans, clock: this.clock, logger };
    const settle = (published?: ReadonlySet<string>): Promise<Converged> =>
      convergeSecret(this.store, {
        ...base,
        ...(published ? { published } : {}),
        ...(this.options.lifetimes ? { lifetimes: this.options.lifetimes } : {}),
      });

    let settled: Converged;
    if (names.length === 0) {
      settled = await settle();
    } else {
      const before = await readPublished(kc, names, logger);
      settled = await settle(this.seen.observe(before, this.clock()));
      const result = await this.publish(settled);
      this.seen.observe(result.published ?? new Set(), this.clock());
      const issuer = readSecretData(settled.data, this.clock()).serving?.issuer.fingerprint;
      if (issuer !== undefined && result.published?.has(issuer)) this.publishedOnce = true;
    }
    await this.writeFiles(settled);
    this.resourceVersion = settled.resourceVersion;
    return { nextChange: settled.plan.nextChange, waiting: settled.plan.waiting !== undefined };
  }

  private publish(settled: Converged) {
    return publishCaBundle(this.options.kubeConfig, {
      names: this.options.webhookConfigurations,
      bundlePem: settled.data[CA_CRT],
      now: this.clock(),
      logger: this.options.logger,
    });
  }

  /** Key before certificate: the reloader rejects the mismatched moment and takes the pair. */
  private async writeFiles({ data }: Converged): Promise<void> {
    const { caPath, keyPath, certPath } = this.files;
    const plan: [keyof typeof this.written, string, number][] = [
      [CA_CRT, caPath, 0o644],
      [TLS_KEY, keyPath, 0o600],
      [TLS_CRT, certPath, 0o644],
    ];
    for (const [key, path, mode] of plan) {
      if (this.written[key] === data[key]) continue;
      await writeFileAtomic(path, data[key], mode);
      this.written[key] = data[key];
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.sync().catch(() => undefined), ms);
    this.timer.unref();
  }

  private recheckMs(): number {
    return this.options.recheckMs ?? 60_000;
  }
}
