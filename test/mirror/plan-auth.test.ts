// `streamguard plan` against a registry that wants Bearer tokens (distribution 2.8 + a token
// server), with credentials from an auth file.
import { access, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTokenRegistry, writeAuthFile } from '../registry-support/auth.js';
import { setupOrFailEach, type RunningRegistry } from '../registry-support/registry.js';
import {
  COMPONENT_REPO,
  INDEX_TAGS,
  pushReleasePayloadTo,
  RELEASE_REPO,
  VERSION,
  type SyntheticRelease,
} from '../registry-support/release-payload.js';
import type { TokenServer } from '../registry-support/token-server.js';
import { runCli } from '../support/cli.js';

const USER = 'mirror-bot';
const PASSWORD = 'pull:and:push-42';
const TO = 'mirror.example.com/ocp';

let tokens: TokenServer;
let registry: RunningRegistry;
let payload: SyntheticRelease;
let work: string;
let goodAuth: string;

function authfile(name: string, user: string, password: string): Promise<string> {
  return writeAuthFile(join(work, name), [registry.host], user, password);
}

setupOrFailEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'sg-plan-auth-'));
  ({ tokens, registry } = await startTokenRegistry({ [USER]: PASSWORD }));
  goodAuth = await authfile('auth.json', USER, PASSWORD);
  payload = await pushReleasePayloadTo(registry.host, { authfile: goodAuth });
});

afterAll(async () => {
  await registry?.stop();
  await tokens?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('plan with Bearer tokens', () => {
  it('plans with auth-file credentials: one ping, one token per repository set', async () => {
    const before = tokens.requests.length;
    const out = join(work, 'plan');
    const result = await runCli([
      'plan',
      '--release',
      payload.release.pullspec,
      '--to',
      TO,
      '--out',
      out,
      '--authfile',
      goodAuth,
      '--insecure-registry',
      registry.host,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect((await readdir(out)).sort()).toContain('mapping.txt');
    const mapping = await readFile(join(out, 'mapping.txt'), 'utf8');
    expect(mapping.split('\n').filter(Boolean)).toHaveLength(186);
    // One token for the release repository (known up front), one for the components'
    // repository (known once image-references has been read).
    expect(result.stdout).toMatch(
      new RegExp(
        // No --kubevirt: the disks are not in the plan, so their manifests are not fetched.
        `^Requests: ${1 + 2 + 1 + 185 + INDEX_TAGS.length + 1} \\(ping 1, token 2, manifest ${1 + 185 + INDEX_TAGS.length}, blob 1\\), 0 retries$`,
        'm',
      ),
    );
    const issued = tokens.requests.slice(before);
    expect(issued).toEqual([
      { scopes: [`repository:${RELEASE_REPO}:pull`], user: USER, status: 200 },
      { scopes: [`repository:${COMPONENT_REPO}:pull`], user: USER, status: 200 },
    ]);
    for (const token of tokens.issued) {
      expect(result.stdout + result.stderr).not.toContain(token);
    }
  });

  it('exits 3 with a clear message and no output without credentials or with wrong ones', async () => {
    const empty = join(work, 'empty.json');
    await writeFile(empty, JSON.stringify({ auths: {} }));
    const wrong = await authfile('wrong.json', USER, 'not-the-password');
    const run = (file: string, out: string) =>
      runCli([
        'plan',
        '--release',
        payload.release.pullspec,
        '--to',
        TO,
        '--out',
        join(work, out),
        '--authfile',
        file,
        '--insecure-registry',
        registry.host,
      ]);
    const [anonymous, refused] = await Promise.all([run(empty, 'anon'), run(wrong, 'wrong')]);
    for (const r of [anonymous, refused]) {
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        new RegExp(
          `^streamguard: failed: cannot read release ${payload.release.pullspec.replace(/[.]/g, '\\.')}: .*UNAUTHORIZED.*check the credentials \\(--authfile\\)\\n$`,
        ),
      );
      expect(r.stderr).not.toContain(PASSWORD);
      expect(r.stderr).not.toContain('not-the-password');
    }
    expect(anonymous.stderr).toContain('login required');
    expect(refused.stderr).toContain('bad credentials');
    for (const out of ['anon', 'wrong']) {
      await expect(access(join(work, out))).rejects.toThrow();
    }
    expect(VERSION).toBe('5.0.0-ec.2');
  });
});
