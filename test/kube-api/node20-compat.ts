// @kubernetes/client-node 2.0.1 bundles undici 8, which needs Node.js >= 22.19: on Node 20 it
// throws while loading (zlib.createZstdDecompress and worker_threads.markAsUncloneable are
// missing), and fetch uses Promise.withResolvers (Node.js 22). Import this module before client-node so the protocol tests can run on Node 20. It
// does not make client-node usable in production on Node 20: zstd responses still fail, and the
// package's engine mismatch stands.
import wt from 'node:worker_threads';
import zlib from 'node:zlib';

const mutableZlib = zlib as unknown as Record<string, unknown>;
if (typeof mutableZlib.createZstdDecompress !== 'function') {
  mutableZlib.createZstdDecompress = () => {
    throw new Error('zstd decompression needs Node.js >= 22.15');
  };
}
const mutableWt = wt as unknown as Record<string, unknown>;
if (typeof mutableWt.markAsUncloneable !== 'function')
  mutableWt.markAsUncloneable = () => undefined;

const promise = Promise as unknown as Record<string, unknown>;
if (typeof promise.withResolvers !== 'function') {
  promise.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const p = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise: p, resolve, reject };
  };
}
