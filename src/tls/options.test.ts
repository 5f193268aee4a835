import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TLS_SERVER_OPTIONS, secureContextOptions } from './options.js';
import { selfSignedBundle, type SelfSignedBundle } from './self-signed.js';
import { fetchOnce, startServer, type TestServer } from '../../test/support/tls.js';

let bundle: SelfSignedBundle;
let hardened: TestServer;

beforeAll(async () => {
  bundle = selfSignedBundle({ sans: [] });
  hardened = await startServer(secureContextOptions(bundle));
});
afterAll(() => hardened.close());

/** Runs `fetch` and returns the server-side handshake errors it caused. */
async function serverErrorsFrom(server: TestServer, fetch: Promise<unknown>): Promise<string[]> {
  const before = server.clientErrors.length;
  await expect(fetch).rejects.toThrow();
  // The server reports its side of the failed handshake on the next turns of the event loop.
  await expect.poll(() => server.clientErrors.length).toBeGreaterThan(before);
  return server.clientErrors.slice(before).map((err) => err.message);
}

describe('TLS_SERVER_OPTIONS on a real server', () => {
  it('negotiates TLS 1.3 with an AEAD suite by default', async () => {
    const got = await fetchOnce({ port: hardened.port, ca: bundle.caPem });
    expect(got.body).toBe('ok');
    expect(got.protocol).toBe('TLSv1.3');
    expect(got.cipher).toMatch(/^TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384)$/);
  });

  it.each([
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ])('accepts a TLS 1.2 client offering only %s', async (cipher) => {
    const got = await fetchOnce({
      port: hardened.port,
      ca: bundle.caPem,
      maxVersion: 'TLSv1.2',
      ciphers: cipher,
    });
    expect(got.protocol).toBe('TLSv1.2');
    expect(got.cipher).toBe(cipher);
  });

  it('picks by its own order, not the client order', async () => {
    const got = await fetchOnce({
      port: hardened.port,
      ca: bundle.caPem,
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256',
    });
    expect(got.cipher).toBe('ECDHE-RSA-AES128-GCM-SHA256');
  });

  // CBC with SHA-1, CBC with SHA-256, and static-RSA key exchange (AEAD but no forward secrecy).
  it.each(['AES128-SHA', 'ECDHE-RSA-AES128-SHA256', 'AES128-GCM-SHA256'])(
    'refuses a TLS 1.2 client offering only %s',
    async (cipher) => {
      const fetch = fetchOnce({
        port: hardened.port,
        ca: bundle.caPem,
        maxVersion: 'TLSv1.2',
        ciphers: cipher,
      });
      expect(await serverErrorsFrom(hardened, fetch)).toEqual([
        expect.stringMatching(/no shared cipher/),
      ]);
    },
  );

  // OpenSSL 3 will not even offer TLS 1.0/1.1 at its default security level, so the client
  // lowers its own to 0: the hello really is TLS 1.1 and it is the server that says no.
  it('refuses a client offering only TLS 1.1', async () => {
    const fetch = fetchOnce({
      port: hardened.port,
      ca: bundle.caPem,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    expect(await serverErrorsFrom(hardened, fetch)).toEqual([
      expect.stringMatching(/unsupported protocol/),
    ]);
  });
});

// Controls: the same clients do connect to a server without the house options, so the refusals
// above come from TLS_SERVER_OPTIONS and not from the client.
describe('the refused clients work against a lax server', () => {
  it('a TLS 1.1 client connects when the server allows TLS 1.0+', async () => {
    const lax = await startServer({
      cert: bundle.certPem,
      key: bundle.keyPem,
      minVersion: 'TLSv1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    try {
      const got = await fetchOnce({
        port: lax.port,
        ca: bundle.caPem,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      });
      expect(got.protocol).toBe('TLSv1.1');
    } finally {
      await lax.close();
    }
  });

  it('an AES128-SHA client connects to Node defaults', async () => {
    const lax = await startServer({ cert: bundle.certPem, key: bundle.keyPem });
    try {
      const got = await fetchOnce({
        port: lax.port,
        ca: bundle.caPem,
        maxVersion: 'TLSv1.2',
        ciphers: 'AES128-SHA',
      });
      expect(got.cipher).toBe('AES128-SHA');
    } finally {
      await lax.close();
    }
  });
});

it('TLS_SERVER_OPTIONS is frozen and lists only ECDHE AEAD suites', () => {
  expect(Object.isFrozen(TLS_SERVER_OPTIONS)).toBe(true);
  expect(TLS_SERVER_OPTIONS.minVersion).toBe('TLSv1.2');
  for (const suite of TLS_SERVER_OPTIONS.ciphers.split(':')) {
    expect(suite).toMatch(/^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
  }
});
