// Helpers for the tls tests only: a loopback HTTPS server and a client that reports the handshake.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Agent, type Server, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

export const LOOPBACK = '127.0.0.1';

export interface TestServer {
  server: Server;
  port: number;
  /** Server-side handshake failures, e.g. 'unsupported protocol', 'no shared cipher'. */
  clientErrors: Error[];
  close(): Promise<void>;
}

/** An HTTPS server on 127.0.0.1 (never another address) that answers every request 'ok'. */
export async function startServer(options: ServerOptions): Promise<TestServer> {
  const server = createServer(options, (_req, res) => res.end('ok'));
  const clientErrors: Error[] = [];
  server.on('tlsClientError', (err) => clientErrors.push(err));
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    clientErrors,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Fetched {
  body: string;
  protocol: string | null;
  cipher: string;
  fingerprint256: string | undefined;
  subjectAltName: string | undefined;
  /** A keep-alive connection reports its certificate only on its first response. */
  reusedSocket: boolean;
  socket: TLSSocket;
}

export interface FetchOptions {
  port: number;
  ca: string;
  /** Where to connect: 'localhost' or '127.0.0.1'; both are loopback. */
  host?: string;
  servername?: string;
  agent?: Agent | false;
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  ciphers?: string;
}

/** One GET over a verified TLS connection; rejects with the client-side handshake error. */
export function fetchOnce(options: FetchOptions): Promise<Fetched> {
  const { port, ca, host = LOOPBACK, servername = 'localhost', agent = false } = options;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        path: '/',
        ca,
        servername,
        agent,
        minVersion: options.minVersion,
        maxVersion: options.maxVersion,
        ciphers: options.ciphers,
        timeout: 5000,
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const peer = socket.getPeerX509Certificate();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            body,
            protocol: socket.getProtocol(),
            cipher: socket.getCipher().name,
            fingerprint256: peer?.fingerprint256,
            subjectAltName: peer?.subjectAltName,
            reusedSocket: req.reusedSocket,
            socket,
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'streamguard-tls-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
