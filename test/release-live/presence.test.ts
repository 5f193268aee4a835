// MirrorPresence against a real docker-registry acting as the mirror (through a fault proxy that
// counts HEADs), holding the synthetic release's node images; mirror sources as a HostedCluster
// and an ImageDigestMirrorSet declare them.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { inventoryConfigMap } from '../../src/mirror/verify.js';
import { MirrorPresence, type PresenceCheckEvent } from '../../src/mirror/presence.js';
import {
  mirrorCandidates,
  mirrorEntries,
  type MirrorEntry,
} from '../../src/mirror/presence-sources.js';
import type { RegistryClients } from '../../src/release/clients.js';
import type { FaultProxy } from '../registry-support/fault-proxy.js';
import { startProxiedRelease } from '../registry-support/proxied-release.js';
import { setupOrFailEach, type RunningRegistry } from '../registry-support/registry.js';
import { COMPONENT_REPO, type SyntheticRelease } from '../registry-support/release-payload.js';
import { singleAttemptClients, captureLogs } from './support.js';

let registry: RunningRegistry;
let proxy: FaultProxy;
let payload: SyntheticRelease;
const pools: RegistryClients[] = [];

setupOrFailEach(async () => {
  ({ registry, proxy, payload } = await startProxiedRelease());
});

beforeEach(() => proxy?.clearRules());

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await proxy?.close();
  await registry?.stop();
});

const SOURCE = 'quay.io/openshift-release-dev';
const MISSING = `sha256:${'0'.repeat(63)}1`;

function clients(): RegistryClients {
  return singleAttemptClients(pools, proxy.host);
}

function entries(...mirrors: string[]): MirrorEntry[] {
  return [{ source: SOURCE, mirrors: mirrors.length > 0 ? mirrors : [mirror()] }];
}

const mirror = () => `${proxy.host}/openshift-release-dev`;
/** The digest of a node OS image of the release, as the payload names it upstream. */
function nodeImage(tag: string): { ref: string; digest: string } {
  const component = payload.components.find((c) => c.tag === tag);
  if (!component) throw new Error(`no component ${tag}`);
  return { ref: `quay.io/${COMPONENT_REPO}@${component.digest}`, digest: component.digest };
}

async function heads(fn: () => Promise<unknown>): Promise<string[]> {
  const before = proxy.requests.length;
  await fn();
  return proxy.requests
    .slice(before)
    .filter((r) => r.method === 'HEAD')
    .map((r) => r.path);
}

describe('MirrorPresence', () => {
  it('finds a mirrored digest, misses an absent one, ignores an uncovered one; caches by TTL', async () => {
    let now = 5_000_000;
    const presence = new MirrorPresence({
      clients: clients(),
      negativeTtlMs: 60_000,
      now: () => now,
    });
    const os10 = nodeImage('rhel-coreos-10');
    const absent = `quay.io/${COMPONENT_REPO}@${MISSING}`;
    const uncovered = `registry.redhat.io/rhel10/rhel-coreos@${os10.digest.replace(/.$/, '0')}`;
    const first = await heads(() => presence.prefetch([os10.ref, absent, uncovered], entries()));
    expect(first.sort()).toEqual(
      [
        `/v2/${COMPONENT_REPO}/manifests/${os10.digest}`,
        `/v2/${COMPONENT_REPO}/manifests/${MISSING}`,
      ].sort(),
    );
    expect(presence.has(os10.digest)).toBe(true);
    expect(presence.status(os10.digest)).toBe('present');
    expect(presence.has(MISSING)).toBe(false);
    expect(presence.status(MISSING)).toBe('absent');
    expect(presence.status(uncovered.slice(uncovered.indexOf('@') + 1))).toBe('unknown');

    // Cached: present for good, absent until the TTL is over.
    expect(await heads(() => presence.prefetch([os10.ref, absent], entries()))).toEqual([]);
    now += 60_000;
    expect(presence.status(MISSING)).toBe('unknown');
    expect(await heads(() => presence.prefetch([os10.ref, absent], entries()))).toEqual([
      `/v2/${COMPONENT_REPO}/manifests/${MISSING}`,
    ]);
    expect(presence.has(os10.digest)).toBe(true);
  });

  it('asks the mirrors in order until one has it, and looks again when the mirrors change', async () => {
    const events: PresenceCheckEvent[] = [];
    const presence = new MirrorPresence({ clients: clients(), onCheck: (e) => events.push(e) });
    const ext = nodeImage('rhel-coreos-10-extensions');
    const elsewhere = `${proxy.host}/elsewhere`;
    const asked = await heads(() => presence.prefetch([ext.ref], entries(elsewhere, mirror())));
    expect(asked).toEqual([
      `/v2/elsewhere/ocp-v4.0-art-dev/manifests/${ext.digest}`,
      `/v2/${COMPONENT_REPO}/manifests/${ext.digest}`,
    ]);
    expect(events).toEqual([
      { digest: ext.digest, outcome: 'present', heads: 2, mirror: `${mirror()}/ocp-v4.0-art-dev` },
    ]);

    // Absent from one mirror (cached) is no answer for another.
    const os9 = nodeImage('rhel-coreos');
    expect(await heads(() => presence.prefetch([os9.ref], entries(elsewhere)))).toHaveLength(1);
    expect(presence.status(os9.digest)).toBe('absent');
    expect(await heads(() => presence.prefetch([os9.ref], entries(elsewhere)))).toEqual([]);
    expect(await heads(() => presence.prefetch([os9.ref], entries(mirror())))).toHaveLength(1);
    expect(presence.has(os9.digest)).toBe(true);
  });

  it('shares one HEAD among concurrent checks of a digest', async () => {
    const presence = new MirrorPresence({ clients: clients() });
    const ext9 = nodeImage('rhel-coreos-extensions');
    const asked = await heads(() =>
      Promise.all(Array.from({ length: 6 }, () => presence.prefetch([ext9.ref], entries()))),
    );
    expect(asked).toHaveLength(1);
    expect(presence.has(ext9.digest)).toBe(true);
  });

  it('tells an unreachable mirror from an absent digest, and logs it once', async () => {
    const { logger, lines } = captureLogs();
    let now = 0;
    const presence = new MirrorPresence({
      clients: clients(),
      logger,
      negativeTtlMs: 1_000,
      now: () => now,
    });
    proxy.addRule({
      method: 'HEAD',
      path: /\/manifests\//,
      fault: { kind: 'status', status: 503 },
    });
    const os10 = nodeImage('rhel-coreos-10');
    await presence.prefetch([os10.ref], entries());
    expect(presence.status(os10.digest)).toBe('error');
    expect(presence.has(os10.digest)).toBe(false);
    now += 1_000;
    await presence.prefetch([os10.ref], entries());
    const warnings = lines.filter((l) => l.includes('"level":40'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('503');

    proxy.clearRules();
    now += 1_000;
    await presence.prefetch([os10.ref], entries());
    expect(presence.status(os10.digest)).toBe('present');
  });

  it('counts digests listed by a mirror inventory ConfigMap, skipping a malformed one', async () => {
    const { logger, lines } = captureLogs();
    const presence = new MirrorPresence({ clients: clients(), logger });
    const bad = inventoryConfigMap(proxy.host, []);
    bad.metadata = { ...bad.metadata, name: 'bad' };
    bad.data = { digests: 'sha256:nope\n' };
    presence.useInventories([inventoryConfigMap(proxy.host, [MISSING]), bad]);
    expect(presence.has(MISSING)).toBe(true);
    expect(presence.status(MISSING)).toBe('present');
    expect(
      await heads(() => presence.prefetch([`quay.io/${COMPONENT_REPO}@${MISSING}`], entries())),
    ).toEqual([]);
    expect(lines.filter((l) => l.includes('mirror inventory skipped'))).toHaveLength(1);
    expect(lines.join('\n')).toContain('ConfigMap streamguard/bad');
    presence.useInventories([]);
    expect(presence.has(MISSING)).toBe(false);
  });
});

describe('mirror sources', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  const ref = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@${digest}`;

  it('rewrites the matched prefix to each mirror, on path boundaries, in order, once', () => {
    expect(
      mirrorCandidates(ref, [
        { source: 'quay.io/openshift', mirrors: ['wrong.example.com/x'] },
        { source: 'quay.io/openshift-release-dev', mirrors: ['m1.example.com:5000/ocp/'] },
        { source: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev', mirrors: ['m2.example.com/r'] },
        { source: '*.quay.io', mirrors: ['m3.example.com'] },
        { source: '*.io', mirrors: ['m4.example.com/all'] },
        { source: 'quay.io/openshift-release-dev', mirrors: ['m1.example.com:5000/ocp', ' '] },
      ]),
    ).toEqual([
      'm1.example.com:5000/ocp/ocp-v4.0-art-dev',
      'm2.example.com/r',
      'm4.example.com/all/openshift-release-dev/ocp-v4.0-art-dev',
    ]);
    expect(mirrorCandidates('registry.redhat.io/ubi9/ubi@' + digest, entries('m'))).toEqual([]);
  });

  it('collects entries from a HostedCluster and ImageDigestMirrorSets, dropping ones without mirrors', () => {
    const found = mirrorEntries({
      hostedCluster: {
        metadata: { name: 'hc', namespace: 'clusters' },
        spec: {
          imageContentSources: [
            { source: 'quay.io/openshift-release-dev/ocp-release', mirrors: ['m.example.com/r'] },
            { source: 'quay.io/empty', mirrors: [] },
          ],
        },
      },
      imageDigestMirrorSets: [
        {
          metadata: { name: 'idms' },
          spec: {
            imageDigestMirrors: [
              {
                source: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev',
                mirrors: ['m.example.com/a'],
              },
              { source: 'quay.io/x' },
            ],
          },
        },
      ],
    });
    expect(found).toEqual([
      {
        source: 'quay.io/openshift-release-dev/ocp-release',
        mirrors: ['m.example.com/r'],
        from: 'HostedCluster clusters/hc',
      },
      {
        source: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev',
        mirrors: ['m.example.com/a'],
        from: 'ImageDigestMirrorSet idms',
      },
    ]);
  });
});
