// Release data from a registry that wants credentials (docker-registry with htpasswd), with a
// HostedCluster pull secret as the API returns it: a kubernetes.io/dockerconfigjson Secret.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MirrorPresence } from '../../src/mirror/presence.js';
import { RegistryClients } from '../../src/release/clients.js';
import { LiveReleaseCatalog } from '../../src/release/live-catalog.js';
import {
  pullSecretFromSecret,
  PullSecretError,
  type PullSecret,
} from '../../src/release/pull-secret.js';
import { basicAuth } from '../registry-support/auth.js';
import {
  setupOrFailEach,
  startRegistry,
  type RunningRegistry,
} from '../registry-support/registry.js';
import {
  COMPONENT_REPO,
  pushReleasePayloadTo,
  type SyntheticRelease,
} from '../registry-support/release-payload.js';
import { captureLogs, singleAttemptClients } from './support.js';

const USER = 'cluster-puller';
const PASSWORD = 'S3cret:pull-only-7f1d';
const WRONG = 'not-the-password-99';

let registry: RunningRegistry;
let payload: SyntheticRelease;
let work: string;
const pools: RegistryClients[] = [];

function dockerConfig(user: string, password: string): string {
  const auth = basicAuth(user, password);
  return JSON.stringify({ auths: { [registry.host]: { auth, email: 'x@example.com' } } });
}

function secret(text: string, type = 'kubernetes.io/dockerconfigjson') {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'pull-secret', namespace: 'clusters' },
    type,
    data: { '.dockerconfigjson': Buffer.from(text).toString('base64') },
  };
}

function pullSecret(user: string, password: string): PullSecret {
  return pullSecretFromSecret(secret(dockerConfig(user, password)));
}

function catalog(logger?: ReturnType<typeof captureLogs>['logger']) {
  const clients = singleAttemptClients(pools, registry.host);
  return new LiveReleaseCatalog({ clients, ...(logger ? { logger } : {}) });
}

setupOrFailEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'sg-live-auth-'));
  registry = await startRegistry({ htpasswd: { [USER]: PASSWORD } });
  const authfile = join(work, 'auth.json');
  await writeFile(authfile, dockerConfig(USER, PASSWORD));
  payload = await pushReleasePayloadTo(registry.host, { authfile });
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('pull secrets', () => {
  it('reads the release with the HostedCluster pull secret', async () => {
    const live = catalog();
    expect(await live.whenFetched(payload.release.pullspec, pullSecret(USER, PASSWORD))).toBe(
      'fetched',
    );
    expect(live.release(payload.release.pullspec).source).toBe('release');
  });

  it('without one, or with a wrong one: failed, the embedded catalog, and no credentials in logs', async () => {
    const { logger, lines } = captureLogs();
    const live = catalog(logger);
    const pullspec = payload.release.pullspec;
    expect(await live.whenFetched(pullspec)).toBe('failed');
    expect(live.failure(pullspec)?.message).toContain('401');
    expect(live.failure(pullspec)?.message).toContain('no pull secret was given for this release');

    // A different pull secret is tried at once, backoff or not.
    expect(await live.whenFetched(pullspec, pullSecret(USER, WRONG))).toBe('failed');
    expect(live.status(pullspec)).toBe('failed');
    expect(live.release(pullspec).source).toBe('embedded');
    expect(live.failure(pullspec)).toMatchObject({ failures: 2 });
    expect(live.failure(pullspec)?.message).toContain('UNAUTHORIZED');
    expect(live.failure(pullspec)?.message).toContain(
      'credentials from the pull secret Secret clusters/pull-secret',
    );

    const logs = lines.join('\n');
    expect(logs).toContain(pullspec);
    for (const leak of [
      WRONG,
      PASSWORD,
      Buffer.from(`${USER}:${WRONG}`).toString('base64'),
      Buffer.from(dockerConfig(USER, WRONG)).toString('base64'),
      pullSecret(USER, WRONG).id,
    ]) {
      expect(logs).not.toContain(leak);
    }

    // The right secret, given later (e.g. the Secret was fixed), is used at once.
    expect(await live.whenFetched(pullspec, pullSecret(USER, PASSWORD))).toBe('fetched');
    expect(live.release(pullspec).source).toBe('release');
  });

  it('tries a pull secret given during an attempt with a wrong one as soon as that attempt fails', async () => {
    const live = catalog();
    const pullspec = payload.release.pullspec;
    // One HostedCluster's Secret is wrong; another cluster on the same release has a good one
    // and asks while the first attempt is still running.
    const wrong = live.whenFetched(pullspec, pullSecret(USER, WRONG));
    expect(live.status(pullspec)).toBe('pending');
    const right = live.whenFetched(pullspec, pullSecret(USER, PASSWORD));
    expect(await right).toBe('fetched');
    expect(await wrong).toBe('fetched');
    expect(live.release(pullspec).source).toBe('release');
    expect(live.failure(pullspec)).toBeUndefined();
  });

  it('checks mirror presence with the pull secret; without it the mirror is unreachable, not absent', async () => {
    const clients = new RegistryClients({
      client: { insecureRegistries: [registry.host], retry: { attempts: 1 } },
    });
    pools.push(clients);
    const presence = new MirrorPresence({ clients });
    const digest = payload.components.find((c) => c.tag === 'rhel-coreos-10')?.digest ?? '';
    const ref = `quay.io/${COMPONENT_REPO}@${digest}`;
    const entries = [{ source: 'quay.io', mirrors: [registry.host] }];
    await presence.prefetch([ref], entries);
    expect(presence.status(digest)).toBe('error');
    // The pull secret is tried at once, whatever the negative cache says.
    await presence.prefetch([ref], entries, pullSecret(USER, PASSWORD));
    expect(presence.status(digest)).toBe('present');
  });

  it('rejects Secrets that are not docker config JSON, naming the Secret, never quoting it', () => {
    const cases: [object, RegExp][] = [
      [
        secret(dockerConfig(USER, PASSWORD), 'Opaque'),
        /type is "Opaque", expected kubernetes\.io\/dockerconfigjson/,
      ],
      [{ ...secret(''), data: {} }, /data\["\.dockerconfigjson"\] is missing or empty/],
      [{ ...secret(''), data: { '.dockerconfigjson': 'not base64!' } }, /is not base64/],
      [secret(`{"auths": "${PASSWORD}"`), /is not valid JSON/],
      [secret(`{"auths": ["${PASSWORD}"]}`), /"auths" is not an object/],
    ];
    for (const [input, expected] of cases) {
      let error: unknown;
      try {
        pullSecretFromSecret(input);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(PullSecretError);
      const message = (error as Error).message;
      expect(message).toMatch(/^Secret clusters\/pull-secret/);
      expect(message).toMatch(expected);
      expect(message).not.toContain(PASSWORD);
    }
  });

  it('keys clients by the secret contents, and lists its registries', () => {
    const a = pullSecret(USER, PASSWORD);
    const b = pullSecret(USER, PASSWORD);
    const c = pullSecret(USER, WRONG);
    expect(a.id).toBe(b.id);
    expect(a.id).not.toBe(c.id);
    expect(a.registries).toEqual([registry.host]);
    expect(a.source).toBe('Secret clusters/pull-secret');
  });
});
