import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  authFileCandidates,
  authKeysFor,
  CredentialStore,
  normalizeAuthKey,
  parseAuthFile,
} from './authfile.js';
import { RegistryError } from './errors.js';
import { parseReference } from './reference.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sg-authfile-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(path: string, json: unknown): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, typeof json === 'string' ? json : JSON.stringify(json));
  return path;
}

describe('auth file locations', () => {
  it('--authfile, else $REGISTRY_AUTH_FILE, is the only file', () => {
    const env = { REGISTRY_AUTH_FILE: '/env/auth.json', XDG_RUNTIME_DIR: '/run/user/1' };
    expect(authFileCandidates('/flag/auth.json', { env, home: '/h' })).toEqual([
      { path: '/flag/auth.json', explicit: true, source: 'authfile' },
    ]);
    expect(authFileCandidates(undefined, { env, home: '/h' })).toEqual([
      { path: '/env/auth.json', explicit: true, source: 'REGISTRY_AUTH_FILE' },
    ]);
  });

  it('otherwise XDG_RUNTIME_DIR, ~/.config/containers, then docker config ($DOCKER_CONFIG)', () => {
    expect(
      authFileCandidates(undefined, { env: { XDG_RUNTIME_DIR: '/run/user/1' }, home: '/h' }).map(
        (c) => c.path,
      ),
    ).toEqual([
      '/run/user/1/containers/auth.json',
      '/h/.config/containers/auth.json',
      '/h/.docker/config.json',
    ]);
    expect(
      authFileCandidates(undefined, { env: { DOCKER_CONFIG: '/dc' }, home: '/h' }).map(
        (c) => c.path,
      ),
    ).toEqual(['/h/.config/containers/auth.json', '/dc/config.json']);
  });
});

describe('parsing and matching', () => {
  it('normalises docker-style keys like containers/image', () => {
    expect(normalizeAuthKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normalizeAuthKey('registry-1.docker.io')).toBe('docker.io');
    expect(normalizeAuthKey('http://127.0.0.1:5000/v2/')).toBe('127.0.0.1:5000');
    expect(normalizeAuthKey('quay.io/org/repo')).toBe('quay.io/org/repo');
  });

  it('lists keys from the repository up to the host', () => {
    expect(authKeysFor(parseReference('quay.io/a/b/c:1'))).toEqual([
      'quay.io/a/b/c',
      'quay.io/a/b',
      'quay.io/a',
      'quay.io',
    ]);
  });

  it('decodes auth, keeps colons in passwords, skips unusable entries', () => {
    const entries = parseAuthFile(
      JSON.stringify({
        auths: {
          'a.io': { auth: b64('u:p:with:colons') },
          'b.io': { auth: b64('nocolon') },
          'c.io': {},
          'd.io': { username: 'du', password: 'dp' },
          'https://e.io/v1/': { auth: b64('eu:ep\0\0') },
        },
        credHelpers: { 'f.io': 'helper' },
      }),
      'x.json',
    );
    expect(entries.get('a.io')).toEqual({ username: 'u', password: 'p:with:colons' });
    expect(entries.has('b.io')).toBe(false);
    expect(entries.has('c.io')).toBe(false);
    expect(entries.get('d.io')).toEqual({ username: 'du', password: 'dp' });
    expect(entries.get('e.io')).toEqual({ username: 'eu', password: 'ep' });
  });

  it('refuses malformed files without quoting them', () => {
    expect(() => parseAuthFile('{"auths": {"x": {"auth": "c2VjcmV0', '/p/auth.json')).toThrow(
      RegistryError,
    );
    expect(() => parseAuthFile('not json c2VjcmV0', '/p/auth.json')).toThrow(
      /^auth file \/p\/auth\.json is not valid JSON \(AUTH_FILE\)$/,
    );
  });
});

describe('CredentialStore', () => {
  it('prefers the longest namespace prefix, then the host', async () => {
    const path = await put(join(dir, 'auth.json'), {
      auths: {
        'quay.io': { auth: b64('host:h') },
        'quay.io/org': { auth: b64('org:o') },
        'quay.io/org/special': { auth: b64('repo:r') },
      },
    });
    const store = new CredentialStore(path);
    expect(await store.lookup(parseReference('quay.io/org/special:1'))).toEqual({
      username: 'repo',
      password: 'r',
    });
    expect(await store.lookup(parseReference('quay.io/org/other'))).toEqual({
      username: 'org',
      password: 'o',
    });
    expect(await store.lookup(parseReference('quay.io/else/x'))).toEqual({
      username: 'host',
      password: 'h',
    });
    expect(await store.lookup(parseReference('ghcr.io/x/y'))).toBeUndefined();
  });

  it('matches by host:port and maps Docker Hub keys', async () => {
    const path = await put(join(dir, 'config.json'), {
      auths: {
        '127.0.0.1:5000': { auth: b64('local:l') },
        'https://index.docker.io/v1/': { auth: b64('hub:h') },
      },
    });
    const store = new CredentialStore(path);
    expect(await store.lookup(parseReference('127.0.0.1:5000/a/b'))).toEqual({
      username: 'local',
      password: 'l',
    });
    expect(await store.lookup(parseReference('127.0.0.1:5001/a/b'))).toBeUndefined();
    expect(await store.lookup(parseReference('alpine'))).toEqual({
      username: 'hub',
      password: 'h',
    });
  });

  it('walks the default files in order; the first with an entry wins', async () => {
    const home = join(dir, 'home');
    const xdg = join(dir, 'run');
    await put(join(xdg, 'containers', 'auth.json'), {
      auths: { 'a.io': { auth: b64('xdg:1') } },
    });
    await put(join(home, '.config', 'containers', 'auth.json'), {
      auths: { 'a.io': { auth: b64('config:2') }, 'b.io': { auth: b64('config:2') } },
    });
    await put(join(home, '.docker', 'config.json'), {
      auths: { 'b.io': { auth: b64('docker:3') }, 'c.io': { auth: b64('docker:3') } },
    });
    const store = new CredentialStore(undefined, { env: { XDG_RUNTIME_DIR: xdg }, home });
    expect((await store.lookup(parseReference('a.io/x')))?.username).toBe('xdg');
    expect((await store.lookup(parseReference('b.io/x')))?.username).toBe('config');
    expect((await store.lookup(parseReference('c.io/x')))?.username).toBe('docker');
    expect(await store.lookup(parseReference('d.io/x'))).toBeUndefined();
  });

  it('$REGISTRY_AUTH_FILE hides the default files; missing default files are fine', async () => {
    const home = join(dir, 'home');
    await put(join(home, '.docker', 'config.json'), { auths: { 'a.io': { auth: b64('d:1') } } });
    const envFile = await put(join(dir, 'env.json'), { auths: { 'b.io': { auth: b64('e:2') } } });
    const store = new CredentialStore(undefined, { env: { REGISTRY_AUTH_FILE: envFile }, home });
    expect(await store.lookup(parseReference('a.io/x'))).toBeUndefined();
    expect((await store.lookup(parseReference('b.io/x')))?.username).toBe('e');
    const empty = new CredentialStore(undefined, { env: {}, home: join(dir, 'nobody') });
    expect(await empty.lookup(parseReference('a.io/x'))).toBeUndefined();
  });

  it('a missing --authfile is an error naming the file', async () => {
    const store = new CredentialStore(join(dir, 'missing.json'));
    await expect(store.lookup(parseReference('a.io/x'))).rejects.toThrow(/missing\.json.*ENOENT/);
  });
});
