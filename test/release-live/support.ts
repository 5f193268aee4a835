// Helpers of the live release data tests: a log sink, request counts seen by the fault proxy, and a
// comparable view of a ReleaseInfo (its boot image catalog has methods, so it is laid flat).
import { Writable } from 'node:stream';
import type { ReleaseInfo } from '../../src/catalog/types.js';
import { RegistryClients } from '../../src/release/clients.js';
import { bootImageCoverage } from '../../src/release/coverage.js';
import { createLogger } from '../../src/server/logger.js';
import type { ProxyRecord } from '../registry-support/fault-proxy.js';

export function captureLogs() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger('debug', sink), lines };
}

/** Requests by `METHOD kind` (ping, manifests, blobs), from the proxy's records. */
export function requestKinds(records: readonly ProxyRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) {
    const kind = r.path === '/v2/' ? 'ping' : /\/manifests\//.test(r.path) ? 'manifest' : 'blob';
    const key = `${r.method} ${kind}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** Everything the engine reads from a ReleaseInfo, as plain data. */
export function infoView(info: ReleaseInfo) {
  return {
    pullspec: info.pullspec,
    version: info.version,
    versionFrom: info.versionFrom,
    source: info.source,
    streams: info.bootImages.streams,
    multiStream: info.bootImages.multiStream,
    legacy: info.bootImages.legacy?.name,
    coverage: bootImageCoverage(info.bootImages),
    nodeImages: info.nodeImages ? Object.fromEntries(info.nodeImages) : undefined,
  };
}

/**
 * Clients for the plain-HTTP registry (or proxy) at `host`, one attempt per request: the backoff
 * under test is the catalog's or the presence check's own, not the client's retries. Kept in
 * `pools` so the test closes them at the end.
 */
export function singleAttemptClients(pools: RegistryClients[], host: string): RegistryClients {
  const pool = new RegistryClients({
    client: { insecureRegistries: [host], retry: { attempts: 1 } },
  });
  pools.push(pool);
  return pool;
}
