// @kubernetes/client-node 2.0.1 bundles undici 8, which requires Node.js >= 22.19 and throws while
// loading on Node 20 (zlib.createZstdDecompress and worker_threads.markAsUncloneable are
// missing). streamguard supports Node 20.19, so the two are filled in before the library loads:
// every module here that imports client-node imports this first. The API server never answers
// with zstd (it offers gzip only), so the stand-in is never called; it throws if it ever is.
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
