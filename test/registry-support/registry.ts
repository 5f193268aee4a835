import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { beforeAll, beforeEach } from 'vitest';

/**
 * A real Debian `docker-registry` (distribution 2.8) on 127.0.0.1 for tests: config, storage and
 * auth files live in a temp dir that {@link RunningRegistry.stop} removes.
 */
export const REGISTRY_BINARY =
  process.env.STREAMGUARD_DOCKER_REGISTRY ?? '/usr/bin/docker-registry';

export interface TokenAuthConfig {
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate whose key signs the tokens (the registry's rootcertbundle). */
  certPem: string;
}

export interface RegistryOptions {
  /** Basic auth: user → password (stored bcrypt-hashed in an htpasswd file). */
  htpasswd?: Record<string, string>;
  token?: TokenAuthConfig;
}

export interface RunningRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  port: number;
  url: string;
  dir: string;
  stop(): Promise<void>;
  /** The registry's stderr so far (for failure messages). */
  logs(): string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function requireRegistryBinary(): Promise<void> {
  try {
    await access(REGISTRY_BINARY);
  } catch {
    throw new Error(
      `${REGISTRY_BINARY} not found: the registry tests need Debian's docker-registry. Install it ` +
        'with `apt-get install -y docker-registry` (CI does so in .ci/run).',
    );
  }
}

function configYaml(root: string, port: number, auth: string): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(join(root, 'data'))}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: streamguard-test-secret',
    auth,
    '',
  ].join('\n');
}

export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  await requireRegistryBinary();
  const dir = await mkdtemp(join(tmpdir(), 'sg-registry-'));
  let auth = '';
  if (options.htpasswd) {
    const lines = Object.entries(options.htpasswd).map(
      ([user, password]) => `${user}:${bcrypt.hashSync(password, 4)}`,
    );
    await writeFile(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    auth = [
      'auth:',
      '  htpasswd:',
      '    realm: streamguard-test',
      `    path: ${JSON.stringify(join(dir, 'htpasswd'))}`,
    ].join('\n');
  } else if (options.token) {
    await writeFile(join(dir, 'token-ca.pem'), options.token.certPem);
    auth = [
      'auth:',
      '  token:',
      `    realm: ${JSON.stringify(options.token.realm)}`,
      `    service: ${JSON.stringify(options.token.service)}`,
      `    issuer: ${JSON.stringify(options.token.issuer)}`,
      `    rootcertbundle: ${JSON.stringify(join(dir, 'token-ca.pem'))}`,
    ].join('\n');
  }

  let lastError: Error | undefined;
  // A free port can be taken between probing and binding; try a few.
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    await writeFile(join(dir, 'config.yml'), configYaml(dir, port, auth));
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !k.startsWith('REGISTRY_')) env[k] = v;
    }
    const child = spawn(REGISTRY_BINARY, ['serve', join(dir, 'config.yml')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const collect = (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    try {
      await waitReady(port, child, exited);
    } catch (err) {
      child.kill('SIGKILL');
      await exited;
      lastError = new Error(`docker-registry did not start: ${(err as Error).message}\n${log}`);
      continue;
    }
    const url = `http://127.0.0.1:${port}`;
    let stopped = false;
    return {
      host: `127.0.0.1:${port}`,
      port,
      url,
      dir,
      logs: () => log,
      async stop() {
        if (stopped) return;
        stopped = true;
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
          await exited;
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError ?? new Error('docker-registry did not start');
}

async function waitReady(
  port: number,
  child: ChildProcess,
  exited: Promise<number | null>,
): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`exited with code ${String(child.exitCode)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`, {
        signal: AbortSignal.timeout(1_000),
      });
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no answer from /v2/ within 10 s');
}

/**
 * Runs `setup` once before the tests of the enclosing suite. If it fails (docker-registry missing,
 * a port taken), every test of the suite fails with that error instead of being skipped, so a
 * machine without the registry can never look green.
 */
export function setupOrFailEach(setup: () => Promise<void>): void {
  let failure: unknown;
  beforeAll(async () => {
    try {
      await setup();
    } catch (err) {
      failure = err;
    }
  });
  beforeEach(() => {
    if (failure !== undefined) throw failure;
  });
}
