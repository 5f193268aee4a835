// @ts-check
// The real webhook for bench/webhook.bench.ts, alone in its own process on plain `node` (no tsx):
// the compiled build's `startServer` with examples/state, a self-signed pair written to the
// directory given as argv[2], and pino at argv[3] (default 'info') written to /dev/null through
// `createLogger`, i.e. through sonic-boom as production writes to stdout. Over IPC it reports
// where it listens and where its CA, certificate and key are, answers `usage` requests with its
// own CPU time and memory, and drains and exits on `exit` (or when the bench goes away).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../dist/server/logger.js';
import { startServer } from '../dist/server/serve.js';
import { serverFacts, usage } from './webhook-usage.mjs';

const send = process.send?.bind(process);
const [tlsDir, level = 'info'] = process.argv.slice(2);
if (!send || !tlsDir) {
  throw new Error('fork bench/webhook-server.mjs TLS_DIR [LOG_LEVEL] with an IPC channel');
}
process.once('disconnect', () => process.exit(0));

const running = await startServer({
  host: '127.0.0.1',
  port: 0,
  statePath: fileURLToPath(new URL('../examples/state', import.meta.url)),
  tls: { selfSigned: { sans: [], dir: tlsDir } },
  deadlineMs: 2000,
  drainMs: 0,
  logger: createLogger(/** @type {import('pino').LevelWithSilent} */ (level), '/dev/null'),
});

// The floors reuse these files, so check that they are the pair this server serves.
const pair = running.reloader.current();
const certPath = join(tlsDir, 'tls.crt');
const keyPath = join(tlsDir, 'tls.key');
if (
  !pair ||
  !running.caPath ||
  readFileSync(certPath, 'utf8') !== pair.certPem ||
  readFileSync(keyPath, 'utf8') !== pair.keyPem
) {
  throw new Error(`the webhook does not serve the pair in ${tlsDir}`);
}

const { server } = running;
send({
  type: 'ready',
  port: running.port,
  caPath: running.caPath,
  certPath,
  keyPath,
  ...serverFacts(server),
});

process.on('message', (/** @type {{ type: string, id?: number }} */ msg) => {
  if (msg.type === 'usage') {
    send(usage(msg.id));
  } else if (msg.type === 'exit') {
    running.drain().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  }
});
