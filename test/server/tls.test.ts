// The real server's TLS: old protocols and weak suites are refused (the same clients connect to a
// lax server, so the refusal is the server's), and HTTP/1.1 keep-alive outlives the API server's
// idle reuse.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEEP_ALIVE_TIMEOUT_MS } from '../../src/server/serve.js';
import {
  exampleRequest,
  LOOPBACK,
  startTestServer,
  WebhookClient,
  type RequestOptions,
  type TestServer,
} from './support.js';

let t: TestServer;
const handshakeErrors: string[] = [];
beforeAll(async () => {
  t = await startTestServer();
  t.running.server.on('tlsClientError', (err) => handshakeErrors.push(err.message));
});
afterAll(() => t.close());

const TLS11: RequestOptions = {
  fresh: true,
  minVersion: 'TLSv1',
  maxVersion: 'TLSv1.1',
  // OpenSSL 3 will not offer TLS 1.1 at its default security level: lower the client's own.
  ciphers: 'DEFAULT@SECLEVEL=0',
};
const WEAK: [string, RequestOptions][] = [
  [
    'AES128-SHA (CBC, SHA-1, static RSA)',
    { fresh: true, maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' },
  ],
  [
    'ECDHE-RSA-AES128-SHA256 (CBC)',
    { fresh: true, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA256' },
  ],
  [
    'AES128-GCM-SHA256 (no forward secrecy)',
    { fresh: true, maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256' },
  ],
];

/** A handshake that fails, and what the server said about it. */
async function refused(options: RequestOptions): Promise<string> {
  const before = handshakeErrors.length;
  await expect(t.client.get('/healthz', options)).rejects.toThrow();
  await expect.poll(() => handshakeErrors.length).toBe(before + 1);
  return handshakeErrors[before] ?? '';
}

describe('TLS of the webhook server', () => {
  it('speaks TLS 1.3 to a default client', async () => {
    const reply = await t.client.get('/healthz', { fresh: true });
    expect(reply.status).toBe(200);
    expect(reply.protocol).toBe('TLSv1.3');
  });

  it('speaks TLS 1.2 with an ECDHE AEAD suite', async () => {
    const reply = await t.client.get('/healthz', {
      fresh: true,
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-RSA-AES256-GCM-SHA384',
    });
    expect(reply.status).toBe(200);
    expect(reply.protocol).toBe('TLSv1.2');
    expect(reply.cipher).toBe('ECDHE-RSA-AES256-GCM-SHA384');
  });

  it('refuses a client offering only TLS 1.1', async () => {
    expect(await refused(TLS11)).toMatch(/unsupported protocol/);
  });

  it.each(WEAK)('refuses a TLS 1.2 client offering only %s', async (_name, options) => {
    expect(await refused(options)).toMatch(/no shared cipher/);
  });

  it('keeps serving after the refusals', async () => {
    expect((await t.client.get('/healthz', { fresh: true })).status).toBe(200);
  });
});

// Controls: the refused clients do connect to a server that allows them, so the refusals above
// come from the webhook's TLS options and not from this machine's OpenSSL.
describe('the refused clients against a lax server', () => {
  let lax: https.Server;
  let client: WebhookClient;
  beforeAll(async () => {
    const key = t.running.reloader.current();
    lax = https.createServer(
      { cert: key.certPem, key: key.keyPem, minVersion: 'TLSv1', ciphers: 'ALL:@SECLEVEL=0' },
      (_req, res) => res.end('ok'),
    );
    await new Promise<void>((resolve) => lax.listen(0, LOOPBACK, resolve));
    client = new WebhookClient((lax.address() as AddressInfo).port, t.ca);
  });
  afterAll(async () => {
    client.close();
    lax.closeAllConnections();
    await new Promise((resolve) => lax.close(resolve));
  });

  it('a TLS 1.1 client connects', async () => {
    expect((await client.get('/', TLS11)).protocol).toBe('TLSv1.1');
  });

  it.each(WEAK)('a client offering only %s connects', async (_name, options) => {
    expect((await client.get('/', options)).cipher).toBe(options.ciphers);
  });
});

describe('HTTP/1.1 keep-alive', () => {
  it('keeps idle connections longer than the API server does (90 s)', () => {
    expect(KEEP_ALIVE_TIMEOUT_MS).toBeGreaterThanOrEqual(90_000);
    expect(t.running.server.keepAliveTimeout).toBe(KEEP_ALIVE_TIMEOUT_MS);
    // Headers must not time out before the keep-alive does.
    expect(t.running.server.headersTimeout).toBeGreaterThan(t.running.server.keepAliveTimeout);
  });

  it('says so in the Keep-Alive header and reuses the connection', async () => {
    const client = new WebhookClient(t.running.port, t.ca, { maxSockets: 1 });
    try {
      const body = exampleRequest('nodepool-scale.json').text;
      const replies = [];
      for (let i = 0; i < 3; i++) replies.push(await client.post('/validate', body));
      for (const reply of replies) {
        expect(reply.status).toBe(200);
        expect(reply.headers.connection).toBe('keep-alive');
        const keepAlive = String(reply.headers['keep-alive']);
        const timeout = Number(/\btimeout=(\d+)/.exec(keepAlive)?.[1]);
        expect(timeout).toBeGreaterThanOrEqual(90);
      }
      expect(replies.map((r) => r.reusedSocket)).toEqual([false, true, true]);
    } finally {
      client.close();
    }
  });
});
