// A loopback registry whose every answer the fuzzer chooses: status, headers and body per path.
// Paths it was not told about answer 404 with a distribution error body, as a registry would.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export class ScriptedRegistry {
  answers = new Map<string, Answer>();
  private server: Server | undefined;
  host = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '').split('?', 1)[0] ?? '';
      if (path === '/v2/' || path === '/v2') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
        return;
      }
      const answer = this.answers.get(path);
      if (!answer) {
        const body = JSON.stringify({
          errors: [{ code: 'MANIFEST_UNKNOWN', message: 'not here' }],
        });
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(body);
        return;
      }
      res.writeHead(answer.status, {
        'Content-Length': String(answer.body.length),
        ...answer.headers,
      });
      res.end(req.method === 'HEAD' ? undefined : answer.body);
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
