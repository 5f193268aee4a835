import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, gzip, pushImage, sha256, tar } from '../../test/registry-support/images.js';
import {
  setupOrFailEach,
  startRegistry,
  type RunningRegistry,
} from '../../test/registry-support/registry.js';
import { startTokenServer, type TokenServer } from '../../test/registry-support/token-server.js';
import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import type { RequestEvent } from './http.js';

let dir: string;
const clients: RegistryClient[] = [];
const events: RequestEvent[] = [];
const errors: string[] = [];

const image = buildImage({ format: 'oci', layers: [gzip(tar([{ path: 'f', contents: 'auth' }]))] });

async function authfile(name: string, auths: Record<string, [string, string]>): Promise<string> {
  const path = join(dir, name);
  const entries = Object.fromEntries(
    Object.entries(auths).map(([key, [user, pass]]) => [
      key,
      { auth: Buffer.from(`${user}:${pass}`).toString('base64') },
    ]),
  );
  await writeFile(path, JSON.stringify({ auths: entries }));
  return path;
}

function newClient(host: string, file: string): RegistryClient {
  const c = new RegistryClient({
    insecureRegistries: [host],
    authfile: file,
    onRequest: (e) => events.push(e),
    retry: { attempts: 2, baseMs: 10 },
  });
  clients.push(c);
  return c;
}

async function rejection(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryError);
    errors.push(String((err as Error).message), String((err as Error).stack));
    return err as RegistryError;
  }
  throw new Error('expected a RegistryError');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sg-auth-'));
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('Basic auth (htpasswd)', () => {
  let registry: RunningRegistry;
  setupOrFailEach(async () => {
    registry = await startRegistry({ htpasswd: { alice: 'wonder-land:42', team: 'team-pass' } });
  });
  afterAll(() => registry?.stop());

  it('pushes and pulls with auth-file credentials', async () => {
    const file = await authfile('basic.json', { [registry.host]: ['alice', 'wonder-land:42'] });
    const c = newClient(registry.host, file);
    await pushImage(c, `${registry.host}/basic/app`, 'v1', image);
    expect((await c.getManifest(`${registry.host}/basic/app:v1`)).digest).toBe(image.digest);
    expect(c.stats()).toMatchObject({ ping: 1, token: 0 });
  });

  it('uses the longest namespace prefix entry', async () => {
    const file = await authfile('ns.json', {
      [registry.host]: ['alice', 'wrong'],
      [`${registry.host}/basic`]: ['team', 'team-pass'],
    });
    const c = newClient(registry.host, file);
    expect((await c.getManifest(`${registry.host}/basic/app:v1`)).digest).toBe(image.digest);
    const err = await rejection(c.getManifest(`${registry.host}/other/app:v1`));
    expect(err).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(err.message).toContain('refused the credentials');
  });

  it('without credentials: UNAUTHORIZED saying none were found', async () => {
    const c = newClient(registry.host, await authfile('none.json', {}));
    const err = await rejection(c.getManifest(`${registry.host}/basic/app:v1`));
    expect(err).toMatchObject({ status: 401, code: 'UNAUTHORIZED', repository: 'basic/app' });
    expect(err.message).toContain(`no credentials for ${registry.host}`);
  });
});

describe('Bearer tokens', () => {
  let tokens: TokenServer;
  let registry: RunningRegistry;
  let creds: string;
  setupOrFailEach(async () => {
    tokens = await startTokenServer({ users: { bob: 'builder-secret' }, anonymousPull: true });
    registry = await startRegistry({ token: tokens });
    creds = await authfile('bearer.json', { [registry.host]: ['bob', 'builder-secret'] });
    const pusher = newClient(registry.host, creds);
    await pushImage(pusher, `${registry.host}/tok/app`, 'v1', image);
    await pushImage(pusher, `${registry.host}/tok/other`, 'v1', image);
  });
  afterAll(async () => {
    await registry?.stop();
    await tokens?.close();
  });

  it('one ping and one token serve pushes and pulls of a repository', async () => {
    const before = tokens.requests.length;
    const c = newClient(registry.host, creds);
    await pushImage(c, `${registry.host}/tok/third`, 'v1', image);
    expect((await c.getManifest(`${registry.host}/tok/third:v1`)).digest).toBe(image.digest);
    expect(c.stats()).toMatchObject({ ping: 1, token: 1 });
    expect(tokens.requests.slice(before)).toEqual([
      { scopes: ['repository:tok/third:pull,push'], user: 'bob', status: 200 },
    ]);
  });

  it('authorizeRepositories gets one token for several repositories', async () => {
    const c = newClient(registry.host, creds);
    await c.authorizeRepositories(registry.host, ['tok/app', 'tok/other']);
    await c.getManifest(`${registry.host}/tok/app:v1`);
    await c.getManifest(`${registry.host}/tok/other:v1`);
    expect(c.stats()).toMatchObject({ ping: 1, token: 1, manifest: 2 });
    expect(tokens.requests.at(-1)?.scopes).toEqual([
      'repository:tok/app:pull',
      'repository:tok/other:pull',
    ]);
  });

  it('anonymous pull works; push without credentials fails clearly', async () => {
    const c = newClient(registry.host, await authfile('anon.json', {}));
    expect((await c.getManifest(`${registry.host}/tok/app:v1`)).digest).toBe(image.digest);
    const err = await rejection(
      c.pushManifest(`${registry.host}/tok/app`, 'v2', image.mediaType, image.manifest),
    );
    expect(err).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(err.message).toContain('no credentials');
  });

  it('wrong credentials: the token server refusal is reported without the password', async () => {
    const c = newClient(
      registry.host,
      await authfile('wrong.json', { [registry.host]: ['bob', 'not-it-xyz'] }),
    );
    const err = await rejection(c.getManifest(`${registry.host}/tok/app:v1`));
    expect(err).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(err.message).toContain('GET token failed');
    expect(err.message).not.toContain('not-it-xyz');
  });

  it('renews short-lived tokens before they expire', async () => {
    tokens.setExpiresIn(1);
    try {
      const c = newClient(registry.host, creds);
      const start = events.length;
      for (let i = 0; i < 4; i++) {
        expect((await c.getManifest(`${registry.host}/tok/app:v1`)).digest).toBe(image.digest);
        await new Promise((r) => setTimeout(r, 450));
      }
      expect(c.stats().token).toBeGreaterThanOrEqual(2);
      expect(c.stats().manifest).toBe(4);
      expect(events.slice(start).filter((e) => e.status === 401 && e.kind !== 'ping')).toEqual([]);
    } finally {
      tokens.setExpiresIn(300);
    }
  });

  it('a token the registry rejects mid-run is dropped and renewed once', async () => {
    const c = newClient(registry.host, creds);
    await c.getManifest(`${registry.host}/tok/app:v1`);
    // The next token looks valid for 300 s but the registry sees it as expired.
    tokens.issueStaleTokens(1);
    const start = events.length;
    expect((await c.getManifest(`${registry.host}/tok/other:v1`)).digest).toBe(image.digest);
    const seen = events.slice(start).map((e) => `${e.kind} ${e.status}`);
    expect(seen).toEqual(['token 200', 'manifest 401', 'token 200', 'manifest 200']);
  });

  it('a registry that keeps refusing fresh tokens fails after one renewal', async () => {
    const c = newClient(registry.host, creds);
    tokens.issueStaleTokens(5);
    try {
      const err = await rejection(c.getManifest(`${registry.host}/tok/app:v1`));
      expect(err).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
      expect(c.stats().token).toBe(2);
    } finally {
      tokens.issueStaleTokens(0);
    }
  });

  it('with concurrency 1, ping and token requests never deadlock the request they serve', async () => {
    const c = new RegistryClient({
      insecureRegistries: [registry.host],
      authfile: creds,
      concurrency: 1,
    });
    clients.push(c);
    const results = await Promise.all([
      c.getManifest(`${registry.host}/tok/app:v1`),
      c.getManifest(`${registry.host}/tok/other:v1`),
      c.fetchBlob(`${registry.host}/tok/app`, sha256(image.config)),
    ]);
    expect(results).toHaveLength(3);
    expect(c.stats()).toMatchObject({ ping: 1, token: 2 });
  });

  it('never puts tokens or passwords into errors or request events', () => {
    const text = JSON.stringify(events) + errors.join('\n');
    expect(tokens.issued.length).toBeGreaterThan(5);
    for (const secret of [...tokens.issued, 'builder-secret', 'wonder-land', 'not-it-xyz']) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toContain(Buffer.from('bob:builder-secret').toString('base64'));
  });
});
