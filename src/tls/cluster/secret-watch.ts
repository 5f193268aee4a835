// A watch on the one TLS Secret, so a replica takes another replica's renewal at once instead of
// at its next periodic re-check. Optional by nature: watching needs `list`/`watch` on the Secret
// (resourceNames with a metadata.name field selector); without them (403) the periodic re-check
// is all there is, and that is said once in the log.
import type { ClientRequest } from 'node:http';
import { request, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { serverOf } from '../../kube/config.js';
import type { Logger } from '../../server/logger.js';
import { backoffMs } from './backoff.js';

export interface SecretWatchOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  /** Called on every change event (the caller coalesces). */
  onChange: () => void;
  /** The version the caller last read: the watch reports only changes after it. */
  resourceVersion: () => string | undefined;
  logger: Logger;
}

/** The API server ends a watch after this long; we then start a new one. */
const WATCH_SECONDS = 300;

export class SecretWatch {
  private req: ClientRequest | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  /** The version of the last event seen; undefined after an ERROR (e.g. 410 Gone). */
  private seen: string | undefined;
  /** After an ERROR, the caller's version may be too old as well: list afresh once. */
  private fresh = false;

  constructor(private readonly options: SecretWatchOptions) {}

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.req?.destroy();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { kubeConfig: kc, namespace, name, logger } = this.options;
    const from = this.fresh ? undefined : (this.seen ?? this.options.resourceVersion());
    this.fresh = false;
    const query = new URLSearchParams({
      watch: '1',
      fieldSelector: `metadata.name=${name}`,
      timeoutSeconds: String(WATCH_SECONDS),
      ...(from ? { resourceVersion: from } : {}),
    });
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets?${query}`;
    const url = new URL(`${serverOf(kc).replace(/\/$/, '')}${path}`);
    const options: RequestOptions = {
      headers: { Accept: 'application/json' },
      minVersion: 'TLSv1.2',
    };
    try {
      await kc.applyToHTTPSOptions(options);
    } catch (err) {
      return this.retry(`credentials: ${(err as Error).message}`);
    }
    if (this.stopped) return;
    const req = request(url, options, (res) => {
      if (res.statusCode === 403 || res.statusCode === 405) {
        res.resume();
        logger.info(
          { secret: `${namespace}/${name}`, status: res.statusCode },
          'no permission to watch the TLS Secret; relying on the periodic re-check',
        );
        return;
      }
      if (res.statusCode === 410) {
        // Our version is compacted away: start afresh and look at the Secret now.
        res.resume();
        this.seen = undefined;
        this.fresh = true;
        this.options.onChange();
        return this.retry(undefined);
      }
      if (res.statusCode !== 200) {
        res.resume();
        return this.retry(`HTTP ${res.statusCode}`);
      }
      this.failures = 0;
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        const events = lines.filter((line) => line.trim() !== '').map(parseEvent);
        for (const event of events) {
          if (event.type === 'ERROR') {
            this.seen = undefined;
            this.fresh = true;
          } else if (event.resourceVersion) {
            this.seen = event.resourceVersion;
          }
        }
        // Any event, even an ERROR (410 Gone), means: look at the Secret again.
        if (events.length > 0) this.options.onChange();
      });
      res.on('end', () => this.retry(undefined));
      res.on('error', (err) => this.retry(err.message));
    });
    req.on('error', (err: NodeJS.ErrnoException) => this.retry(err.code ?? err.message));
    req.end();
    this.req = req;
  }

  /** Reconnects: soon after a clean end, with backoff after a failure. */
  private retry(problem: string | undefined): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    if (problem !== undefined) {
      this.failures += 1;
      this.options.logger.warn(
        { secret: `${this.options.namespace}/${this.options.name}`, err: problem },
        'TLS Secret watch failed; reconnecting',
      );
    }
    // A pause even after a clean end: a server ending watches at once must not make us spin.
    // Nothing is missed meanwhile, the next watch starts from the last version seen.
    const delay = problem === undefined ? 1_000 : 500 + backoffMs(this.failures, 500, 30_000);
    this.timer = setTimeout(() => void this.connect(), delay);
    this.timer.unref();
  }
}

function parseEvent(line: string): { type?: string; resourceVersion?: string } {
  try {
    const event = JSON.parse(line) as {
      type?: string;
      object?: { metadata?: { resourceVersion?: string } };
    };
    return {
      ...(event.type ? { type: event.type } : {}),
      ...(event.object?.metadata?.resourceVersion
        ? { resourceVersion: event.object.metadata.resourceVersion }
        : {}),
    };
  } catch {
    return { type: 'ERROR' };
  }
}
