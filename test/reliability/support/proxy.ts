// A round-robin TCP proxy on 127.0.0.1, as a Service in front of webhook replicas: TLS passes
// through untouched, each NEW connection goes to the next backend whose /readyz answered 200 at
// the last probe (as endpoints drop a Pod that is not ready), and connections already open stay
// where they are until either side closes them.
import https from 'node:https';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface Backend {
  port: number;
  ca: string | string[];
}

export interface RoundRobinProxy {
  port: number;
  /** New connections sent to each backend so far, by backend port. */
  connections: Map<number, number>;
  /** Whether each backend was ready at its last probe. */
  ready: Map<number, boolean>;
  close(): Promise<void>;
}

function probe(backend: Backend): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port: backend.port,
        servername: 'localhost',
        path: '/readyz',
        ca: backend.ca,
        agent: false,
        timeout: 1_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export async function startRoundRobinProxy(
  backends: Backend[],
  probeMs = 100,
): Promise<RoundRobinProxy> {
  const ready = new Map<number, boolean>(backends.map((b) => [b.port, false]));
  const connections = new Map<number, number>(backends.map((b) => [b.port, 0]));
  const sockets = new Set<Socket>();
  let next = 0;
  let stopped = false;

  const probeAll = async () => {
    await Promise.all(backends.map(async (b) => ready.set(b.port, await probe(b))));
  };
  await probeAll();
  const probing = (async () => {
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, probeMs));
      if (!stopped) await probeAll();
    }
  })();

  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const live = backends.filter((b) => ready.get(b.port));
    if (live.length === 0) return void client.destroy();
    const backend = live[next++ % live.length] as Backend;
    connections.set(backend.port, (connections.get(backend.port) ?? 0) + 1);
    const upstream = connect({ host: '127.0.0.1', port: backend.port });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    // Either side's end or error ends the other: no half-open pairs left behind.
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    ready,
    async close() {
      stopped = true;
      await probing;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
