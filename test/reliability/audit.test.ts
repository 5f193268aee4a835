// scripts/audit.mjs (`npm run audit:prod`) against an advisory service on loopback that the test
// controls: a high finding fails (exit 1), none is clean, and a service that refuses or never
// answers is reported as unverified (exit 0) instead of passing for clean — within the timeout.
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.js';

interface Run {
  code: number | null;
  stdout: string;
}

function audit(registry: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'scripts/audit.mjs'), '--registry', registry],
      {
        cwd: REPO_ROOT,
        // No retries: a refused connection is answered at once.
        env: { ...process.env, npm_config_fetch_retries: '0', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

let server: Server | undefined;
const asked: string[][] = [];

afterEach(async () => {
  server?.closeAllConnections();
  if (server) await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** An npm registry on 127.0.0.1 whose bulk advisory endpoint answers `advisories`. */
async function advisoryService(
  answer: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void,
): Promise<string> {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url?.includes('/security/advisories/bulk')) {
        answer(req, res, Buffer.concat(chunks));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

// npm keeps what it computed for an advisory by its id and URL: every advisory gets new ones.
let nextId = 100_000 + Math.floor(Math.random() * 1_000_000);

function advisories(found: Record<string, { severity: string }[]>) {
  return (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString();
    asked.push(Object.keys(JSON.parse(text) as Record<string, string[]>));
    const out = Object.fromEntries(
      Object.entries(found).map(([name, list]) => [
        name,
        list.map((a) => ({
          id: ++nextId,
          url: `https://advisories.example/${name}/${nextId}`,
          title: `test advisory ${nextId}`,
          severity: a.severity,
          vulnerable_versions: '<999.0.0',
          cwe: [],
          cvss: { score: 0, vectorString: null },
        })),
      ]),
    );
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
  };
}

describe('npm run audit:prod', () => {
  it('fails with the packages when a production dependency has a high or critical advisory', async () => {
    const registry = await advisoryService(
      advisories({ yaml: [{ severity: 'high' }], pino: [{ severity: 'critical' }] }),
    );
    const run = await audit(registry);
    expect(run.stdout).toBe(
      'findings: 1 critical, 1 high in production dependencies: pino (critical, direct), yaml (high, direct)\n',
    );
    expect(run.code).toBe(1);
    // It asked about the production dependencies.
    expect(asked.at(-1)).toEqual(expect.arrayContaining(['yaml', 'pino', 'undici']));
  });

  it('is clean when nothing is high or critical, and says what lower findings there are', async () => {
    const registry = await advisoryService(advisories({ yaml: [{ severity: 'moderate' }] }));
    const run = await audit(registry);
    expect(run.stdout).toBe('clean (no high or critical; 1 moderate)\n');
    expect(run.code).toBe(0);
  });

  it('says unverified (exit 0) when the advisory service refuses the connection', async () => {
    const registry = await advisoryService(() => undefined);
    const port = (server?.address() as AddressInfo).port;
    server?.close();
    server = undefined;
    const run = await audit(registry);
    expect(run.stdout).toMatch(
      new RegExp(
        `^unverified: advisory service unreachable \\(.*127\\.0\\.0\\.1:${port}.*ECONNREFUSED.*\\)\\n$`,
      ),
    );
    expect(run.code).toBe(0);
  });

  it('says unverified (exit 0) when the service never answers, instead of hanging', async () => {
    const registry = await advisoryService(() => undefined); // holds every bulk request
    const run = await audit(registry, { AUDIT_TIMEOUT_MS: '1500' });
    expect(run.stdout).toBe('unverified: advisory service unreachable (no answer within 2 s)\n');
    expect(run.code).toBe(0);
  });

  it('never prints credentials carried in the registry URL', async () => {
    const registry = await advisoryService(() => undefined);
    server?.close();
    server = undefined;
    const run = await audit(registry.replace('http://', 'http://robot:t0ken-XYZ@'));
    expect(run.stdout).toMatch(/^unverified: /);
    expect(run.stdout).not.toContain('t0ken-XYZ');
  });
});
