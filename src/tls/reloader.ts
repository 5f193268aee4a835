import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TlsError } from './errors.js';
import { loadKeyPair, type KeyPair } from './pair.js';

export interface CertificateReloaderOptions {
  certPath: string;
  keyPath: string;
  /** Puts a pair in force, e.g. `server.setSecureContext(secureContextOptions(pair))`. */
  apply: (pair: KeyPair) => void;
  /** Quiet time after the last file event before re-reading. Default 200 ms. */
  debounceMs?: number;
  /** Interval of the stat poll that backs up fs.watch; 0 turns it off. Default 5000 ms. */
  pollMs?: number;
}

export interface CertificateReloaderEvents {
  /** A new pair was loaded and applied. */
  reloaded: [pair: KeyPair];
  /** The files changed but the new pair is unusable; the previous pair stays in force. */
  rejected: [error: Error];
}

/**
 * Keeps a server's certificate in step with files on disk (a mounted Kubernetes Secret,
 * cert-manager output). Each change is re-read and checked as a pair, so a certificate that lands
 * before its key is rejected, the old pair keeps serving, and the next change (the key) is taken.
 */
export class CertificateReloader extends EventEmitter<CertificateReloaderEvents> {
  private readonly options: Required<CertificateReloaderOptions>;
  private pair: KeyPair | undefined;
  private watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  /** File identities at the last read, so the poll can tell that something changed. */
  private seen = '';
  private loading = false;
  private again = false;
  private stopped = false;

  constructor(options: CertificateReloaderOptions) {
    super();
    this.options = {
      ...options,
      debounceMs: options.debounceMs ?? 200,
      pollMs: options.pollMs ?? 5000,
    };
  }

  /** Loads and applies the initial pair (throws TlsError if unusable), then watches for changes. */
  async start(): Promise<KeyPair> {
    if (this.pair !== undefined || this.stopped) throw new Error('CertificateReloader: start once');
    const { certPath, keyPath, apply, pollMs } = this.options;
    this.seen = await this.identity();
    const pair = await loadKeyPair(certPath, keyPath);
    apply(pair);
    this.pair = pair;
    this.watch();
    if (pollMs > 0) {
      this.poll = setInterval(() => void this.checkIdentity(), pollMs);
      this.poll.unref();
    }
    return pair;
  }

  /** Stops watching; the pair in force stays in force. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.debounce);
    clearInterval(this.poll);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }

  /** The pair in force. */
  current(): KeyPair {
    if (this.pair === undefined) throw new Error('CertificateReloader: not started');
    return this.pair;
  }

  /**
   * Watches the directories, not the files: Kubernetes updates a Secret volume by swapping its
   * `..data` symlink, which replaces the files without an event on the paths we were given.
   */
  private watch(): void {
    const dirs = new Set([dirname(this.options.certPath), dirname(this.options.keyPath)]);
    for (const dir of dirs) {
      try {
        // persistent: false, so the reloader never keeps a process alive on its own.
        const watcher = watch(dir, { persistent: false }, () => this.schedule());
        // A watch can die (directory removed, inotify limits); the poll still covers us.
        watcher.on('error', () => watcher.close());
        this.watchers.push(watcher);
      } catch {
        // Same: fall back to the poll.
      }
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(), this.options.debounceMs);
    this.debounce.unref();
  }

  /** fs.watch misses changes on some file systems (NFS, some overlay setups); stat catches them. */
  private async checkIdentity(): Promise<void> {
    if (this.stopped || this.loading) return;
    if ((await this.identity()) !== this.seen) this.schedule();
  }

  /** Inode, size and mtime of both files, symlinks followed; '' parts for missing files. */
  private async identity(): Promise<string> {
    const parts = await Promise.all(
      [this.options.certPath, this.options.keyPath].map(async (path) => {
        const s = await stat(path, { bigint: true }).catch(() => undefined);
        return s === undefined ? '-' : `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
      }),
    );
    return parts.join('|');
  }

  /** Re-reads the pair; events arriving meanwhile cause one more read when this one is done. */
  private async reload(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      do {
        this.again = false;
        await this.reloadOnce();
      } while (this.again && !this.stopped);
    } finally {
      this.loading = false;
    }
  }

  private async reloadOnce(): Promise<void> {
    const { certPath, keyPath, apply } = this.options;
    // Identity before reading: a change during the read then shows up on the next poll.
    this.seen = await this.identity();
    let pair: KeyPair;
    try {
      pair = await loadKeyPair(certPath, keyPath);
    } catch (err) {
      if (!this.stopped) this.emit('rejected', asError(err));
      return;
    }
    const old = this.pair;
    if (this.stopped || (old?.certPem === pair.certPem && old.keyPem === pair.keyPem)) return;
    try {
      apply(pair);
    } catch (err) {
      // The message is the applier's (e.g. OpenSSL's), which does not quote the key.
      const reason = `new pair not applied: ${asError(err).message}`;
      this.emit('rejected', new TlsError(certPath, reason));
      return;
    }
    this.pair = pair;
    this.emit('reloaded', pair);
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
