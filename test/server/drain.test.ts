// SIGTERM to the real `streamguard serve` process: readiness goes false at once, the webhook keeps
// answering through the drain (with Connection: close), and the process exits 0 afterwards.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  exampleRequest,
  sleep,
  tempDir,
  WebhookClient,
  type AdmissionResponseJson,
} from './support.js';
import { spawnServe } from '../support/serve.js';

const DRAIN_SECONDS = 2;
/**
 * How long the client goes on sending after it saw readiness go false. Like the API server, it
 * stops once the endpoint is gone; here it stops well inside the drain window, because it learns
 * of readiness only by polling (the drain began a little before it noticed).
 */
const SEND_AFTER_NOT_READY_MS = DRAIN_SECONDS * 1000 - 800;

const scale = exampleRequest('nodepool-scale.json');

interface Sent {
  at: number;
  doneAt?: number;
  /** Sent after the client had seen /readyz answer 503. */
  afterNotReady: boolean;
  status?: number;
  connection?: string;
  reused?: boolean;
  allowed?: boolean;
  error?: string;
}

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

it('drains on SIGTERM: not ready, still answering with Connection: close, then exit 0', async () => {
  const dir = await tempDir('streamguard-drain-');
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const serve = spawnServe(
    ['--state', 'examples/state', '--self-signed'],
    { certDir: dir, drainSeconds: DRAIN_SECONDS },
    cleanup,
  );
  const { child, exited } = serve;
  let exitedAt: number | undefined;
  void exited.then(() => (exitedAt = Date.now()));
  const port = await serve.port(20_000);
  expect(serve.stderr()).toContain(`self-signed CA written to ${join(dir, 'ca.crt')}`);
  const ca = await readFile(join(dir, 'ca.crt'), 'utf8');

  const client = new WebhookClient(port, ca, { maxSockets: 2 });
  const readiness = new WebhookClient(port, ca, { maxSockets: 1 });
  cleanup.push(async () => {
    client.close();
    readiness.close();
  });

  // Readiness, polled the way a kubelet probe would (but often): when it first answers 503.
  let notReadyAt: number | undefined;
  let readyBody: string | undefined;
  let notReadyBody: string | undefined;
  let stopPolling = false;
  const poller = (async () => {
    const started = Date.now();
    while (!stopPolling && notReadyAt === undefined && Date.now() - started < 30_000) {
      const reply = await readiness.get('/readyz');
      if (reply.status === 200) readyBody = reply.body;
      else if (reply.status === 503) {
        notReadyAt = Date.now();
        notReadyBody = reply.body;
      } else throw new Error(`/readyz answered ${reply.status}`);
      await sleep(25);
    }
  })();

  // Two senders over keep-alive connections; each stops once the endpoint is "gone" for it.
  const sent: Sent[] = [];
  const sender = async () => {
    const started = Date.now();
    while (Date.now() - started < 30_000 && sent.length < 20_000) {
      if (notReadyAt !== undefined && Date.now() > notReadyAt + SEND_AFTER_NOT_READY_MS) return;
      const entry: Sent = { at: Date.now(), afterNotReady: notReadyAt !== undefined };
      sent.push(entry);
      try {
        const reply = await client.post('/validate', scale.text);
        entry.doneAt = Date.now();
        entry.status = reply.status;
        entry.connection = reply.headers.connection;
        entry.reused = reply.reusedSocket;
        entry.allowed = (JSON.parse(reply.body) as AdmissionResponseJson).response.allowed;
      } catch (err) {
        entry.error = String(err);
      }
    }
  };
  const senders = Promise.all([sender(), sender()]);

  try {
    await expect.poll(() => sent.length, { timeout: 15_000 }).toBeGreaterThan(40);
    expect(readyBody).toBe('ok');
    expect(notReadyAt).toBeUndefined();
    const killedAt = Date.now();
    expect(child.kill('SIGTERM')).toBe(true);
    await expect.poll(() => notReadyAt, { timeout: 10_000, interval: 20 }).toBeDefined();
    await senders;
    await poller;

    // Keep-alive before the signal; answered, and told to reconnect, after readiness went false.
    const before = sent.filter((s) => s.doneAt !== undefined && s.doneAt < killedAt);
    expect(before.filter((s) => s.reused).length).toBeGreaterThan(10);
    expect(before.every((s) => s.connection === 'keep-alive')).toBe(true);
    const during = sent.filter((s) => s.afterNotReady);
    expect(during.length).toBeGreaterThan(5);
    expect(during.map((s) => s.status)).toEqual(during.map(() => 200));
    expect(during.map((s) => s.connection)).toEqual(during.map(() => 'close'));
    expect(during.every((s) => s.allowed === true)).toBe(true);
    expect(notReadyBody).toBe('not ready');
    // Zero failed requests over the whole run.
    expect(sent.filter((s) => s.status !== 200)).toEqual([]);
  } finally {
    stopPolling = true;
    await Promise.race([senders, sleep(20_000)]);
    await poller.catch(() => undefined);
  }

  // The process goes only after the drain, and cleanly.
  const [code, signal] = await Promise.race([
    exited,
    sleep(20_000).then(() => [null, 'timeout'] as const),
  ]);
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  const lastAnswer = Math.max(...sent.map((s) => s.at));
  expect(exitedAt).toBeGreaterThan(lastAnswer);
  const logs = serve
    .stdout()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { msg: string; signal?: string; drainMs?: number });
  const messages = logs.map((l) => l.msg);
  const term = messages.indexOf('shutting down');
  const draining = messages.indexOf('draining: readiness is false, still answering');
  const stopped = messages.indexOf('stopped');
  expect(logs[term]?.signal).toBe('SIGTERM');
  expect(logs[draining]?.drainMs).toBe(DRAIN_SECONDS * 1000);
  expect(term).toBeGreaterThanOrEqual(0);
  expect(draining).toBeGreaterThan(term);
  expect(stopped).toBeGreaterThan(draining);
});
