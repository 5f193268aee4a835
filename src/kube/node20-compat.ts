// @kubernetes/client-node 2.0.1 bundles undici 8, which requires Node.js >= 22.19: on Node 20 it
// throws while loading (zlib.createZstdDecompress, worker_threads.markAsUncloneable) and every
// request fails (Promise.withResolvers). streamguard supports Node 20.19, so these are filled in
// before the library loads: every module here that imports client-node imports this first. The
// API server never answers with zstd (it offers gzip), so that stand-in throws if ever called;
// Promise.withResolvers is the standard ES2024 function, written out.
import wt from 'node:worker_threads';
import zlib from 'node:zlib';

const mutableZlib = zlib as unknown as Record<string, unknown>;
if (typeof mutableZlib.createZstdDecompress !== 'function') {
  mutableZlib.createZstdDecompress = () => {
    throw new Error('zstd-encoded answers need Node.js >= 22.15');
  };
}
const mutableWt = wt as unknown as Record<string, unknown>;
if (typeof mutableWt.markAsUncloneable !== 'function') {
  mutableWt.markAsUncloneable = () => undefined;
}

const mutablePromise = Promise as unknown as Record<string, unknown>;
if (typeof mutablePromise.withResolvers !== 'function') {
  mutablePromise.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
