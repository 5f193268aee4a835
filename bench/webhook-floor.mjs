// @ts-check
// A floor server for bench/webhook.bench.ts, alone in its own process on plain `node` (no tsx):
// node:https with the webhook's TLS options (`TLS_SERVER_OPTIONS` from the build), the real
// server's certificate and key files, and its timeouts and header limit. argv[2] picks the work
// per request:
//   bare   reads the body and returns the precomputed response bytes;
//   parse  also `JSON.parse`s the body and `JSON.stringify`s a fixed response object, the least
//          any webhook that reads the AdmissionReview in JS must do.
// Configured by a `start` message; then, like bench/webhook-server.mjs, reports its port and
// answers `usage` and `exit` over IPC.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import process from 'node:process';
import { TLS_SERVER_OPTIONS } from '../dist/tls/options.js';
import { serverFacts, usage } from './webhook-usage.mjs';

/**
 * @typedef {object} StartMessage
 * @property {'start'} type
 * @property {string} certPath
 * @property {string} keyPath
 * @property {string} response The body to answer with (the real webhook's answer).
 * @property {{ keepAliveTimeout: number, headersTimeout: number, requestTimeout: number,
 *   maxHeaderSize: number }} http
 */

const send = process.send?.bind(process);
const mode = process.argv[2];
if (!send || (mode !== 'bare' && mode !== 'parse')) {
  throw new Error('fork bench/webhook-floor.mjs bare|parse with an IPC channel');
}
process.once('disconnect', () => process.exit(0));

/** @param {StartMessage} start */
function listen(start) {
  const precomputed = Buffer.from(start.response);
  const answer = JSON.parse(start.response);
  /** @type {import('node:http').RequestListener} */
  const bare = (req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': precomputed.length,
      });
      res.end(precomputed);
    });
  };
  /** @type {import('node:http').RequestListener} */
  const parse = (req, res) => {
    /** @type {Buffer[]} */
    const chunks = [];
    let size = 0;
    req.on('data', (/** @type {Buffer} */ chunk) => {
      chunks.push(chunk);
      size += chunk.length;
    });
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      let status = 200;
      let bytes;
      try {
        JSON.parse(body?.toString('utf8') ?? '');
        bytes = Buffer.from(JSON.stringify(answer));
      } catch {
        status = 400;
        bytes = Buffer.from('{"error":"not JSON"}');
      }
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.length });
      res.end(bytes);
    });
  };
  const server = https.createServer(
    {
      ...TLS_SERVER_OPTIONS,
      cert: readFileSync(start.certPath, 'utf8'),
      key: readFileSync(start.keyPath, 'utf8'),
      maxHeaderSize: start.http.maxHeaderSize,
    },
    mode === 'bare' ? bare : parse,
  );
  server.keepAliveTimeout = start.http.keepAliveTimeout;
  server.headersTimeout = start.http.headersTimeout;
  server.requestTimeout = start.http.requestTimeout;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    send?.({
      type: 'ready',
      port: typeof address === 'object' && address ? address.port : 0,
      ...serverFacts(server),
    });
  });
  return server;
}

/** @type {import('node:https').Server | undefined} */
let server;
process.on('message', (/** @type {{ type: string, id?: number } | StartMessage} */ msg) => {
  if (msg.type === 'start' && !server) {
    server = listen(/** @type {StartMessage} */ (msg));
  } else if (msg.type === 'usage') {
    send(usage(msg.id));
  } else if (msg.type === 'exit') {
    server?.closeAllConnections();
    process.exit(0);
  }
});
