import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { ConfigMap } from '../k8s/objects.js';
import { lookupBootImage, metadataArch, type BootImageRequest } from './boot-image.js';
import { parseBootImagesConfigMap } from './bootimages-configmap.js';
import { loadEmbeddedCatalog } from './embedded.js';
import { powerVSImageRegion } from './powervs-region.js';

const catalogOf = (name: string) => {
  const url = new URL(`../../test/fixtures/upstream/${name}`, import.meta.url);
  return parseBootImagesConfigMap(parseYaml(readFileSync(url, 'utf8')) as ConfigMap, name).catalog;
};

const ec50 = catalogOf('hypershift-fixture-5.0-coreos-bootimages-configmap.yaml');
const ocp410 = catalogOf('hypershift-fixture-4.10-coreos-bootimages-configmap.yaml');
const embedded = loadEmbeddedCatalog();

const aws = (region: string, arch = 'amd64'): BootImageRequest => ({
  platform: 'AWS',
  arch,
  region,
});

describe('lookupBootImage: AWS', () => {
  it('finds the exact rhel-10 us-east-1 x86_64 AMI of the 5.0 payload', () => {
    const hit = lookupBootImage(ec50, 'rhel-10', aws('us-east-1'));
    expect(hit).toMatchObject({ kind: 'found', image: 'ami-04b3d999e39d62c5b' });
    expect(hit.kind === 'found' && hit.detail).toContain('rhel-10 (rhcos-4.22 10.2.20260405-0)');
    expect(lookupBootImage(ec50, 'rhel-9', aws('us-west-2', 'arm64'))).toMatchObject({
      kind: 'found',
      image: 'ami-0f4439b005ce8bb83',
    });
  });

  it('says where the stream is available when the region is missing (trimmed fixture)', () => {
    expect(lookupBootImage(ec50, 'rhel-10', aws('eu-west-1'))).toEqual({
      kind: 'missing',
      reason: 'rhel-10 (rhcos-4.22) has no AWS AMI for x86_64 in region eu-west-1',
      availableIn: ['us-east-1', 'us-west-2'],
      otherStreams: [],
    });
    const embeddedHit = lookupBootImage(embedded, 'rhel-10', aws('eu-west-1'));
    expect(embeddedHit).toMatchObject({ kind: 'found', image: 'ami-0d04bd5213ffc3375' });
  });

  it('lists other streams that do have the image', () => {
    // 4.10 has eu-west-1 for aarch64; it offers rhel-9 only.
    const miss = lookupBootImage(ocp410, 'rhel-10', aws('eu-west-1', 'arm64'));
    expect(miss).toMatchObject({ kind: 'missing', availableIn: [], otherStreams: ['rhel-9'] });
    expect(miss.kind === 'missing' && miss.reason).toMatch(
      /no boot image metadata for stream "rhel-10"/,
    );
  });

  it('reports a missing architecture and a missing region', () => {
    expect(lookupBootImage(ocp410, 'rhel-9', aws('us-east-1', 's390x'))).toMatchObject({
      kind: 'missing',
      availableIn: [],
    });
    const noArch = lookupBootImage(ec50, 'rhel-10', aws('us-east-1', 's390x'));
    expect(noArch.kind === 'missing' && noArch.reason).toBe(
      'rhel-10 (rhcos-4.22) has no boot images for architecture s390x',
    );
    const noRegion = lookupBootImage(ec50, 'rhel-10', { platform: 'AWS', arch: 'amd64' });
    expect(noRegion).toMatchObject({ kind: 'missing', availableIn: ['us-east-1', 'us-west-2'] });
  });

  it('takes Windows AMIs from the legacy stream, whatever the pool stream', () => {
    const windows = { ...aws('us-east-1'), windows: true };
    const legacyAmi = 'ami-07fb473b3b815c46a';
    // The rhel-10 entry has its own aws-winli (ami-0d7d1fceead28e9d8); HyperShift ignores it.
    expect(lookupBootImage(ec50, 'rhel-10', windows)).toMatchObject({
      kind: 'found',
      image: legacyAmi,
    });
    expect(lookupBootImage(ec50, 'rhel-9', windows)).toMatchObject({
      kind: 'found',
      image: legacyAmi,
    });
    const miss = lookupBootImage(ec50, 'rhel-10', { ...windows, region: 'mars-1' });
    expect(miss).toMatchObject({ kind: 'missing', otherStreams: [] });
    expect(miss.kind === 'missing' && miss.availableIn).toHaveLength(32);
    const streamsOnly = parseBootImagesConfigMap(
      { data: { streams: JSON.stringify({ 'rhel-10': { architectures: {} } }) } },
      'x',
    ).catalog;
    const noLegacy = lookupBootImage(streamsOnly, 'rhel-10', windows);
    expect(noLegacy.kind === 'missing' && noLegacy.reason).toMatch(/no legacy "stream"/);
  });
});

describe('lookupBootImage: Azure marketplace', () => {
  const azure = (azureGeneration?: 'Gen1' | 'Gen2'): BootImageRequest => ({
    platform: 'Azure',
    arch: 'amd64',
    azureGeneration,
  });

  it('misses rhel-10 Gen2 in the 5.0 payload (empty no-purchase-plan), pointing at rhel-9', () => {
    expect(lookupBootImage(ec50, 'rhel-10', azure())).toEqual({
      kind: 'missing',
      reason: 'rhel-10 (rhcos-4.22) has no Azure Marketplace image for x86_64 generation Gen2',
      availableIn: [],
      otherStreams: ['rhel-9'],
    });
    expect(lookupBootImage(ec50, 'rhel-9', azure())).toMatchObject({
      kind: 'found',
      image: 'azureopenshift:aro4:420-v2:9.6.20251015',
    });
  });

  it('finds rhel-10 Gen2 in the embedded catalog (marketplace merged), but not Gen1', () => {
    expect(lookupBootImage(embedded, 'rhel-10', azure('Gen2'))).toMatchObject({
      kind: 'found',
      image: 'azureopenshift:aro4:aro_5-0_x64_gen2:10.2.20260423',
    });
    expect(lookupBootImage(embedded, 'rhel-10', azure('Gen1'))).toMatchObject({
      kind: 'missing',
      availableIn: ['Gen2'],
      otherStreams: ['rhel-9'],
    });
  });
});

describe('lookupBootImage: GCP, KubeVirt, OpenStack', () => {
  it('builds the GCP image path', () => {
    expect(lookupBootImage(ec50, 'rhel-10', { platform: 'GCP', arch: 'arm64' })).toMatchObject({
      kind: 'found',
      image: 'projects/rhcos-cloud/global/images/rhcos-10-2-20260405-0-gcp-aarch64',
    });
    expect(lookupBootImage(ec50, 'rhel-10', { platform: 'GCP', arch: 'ppc64le' })).toMatchObject({
      kind: 'missing',
      availableIn: ['aarch64', 'x86_64'],
    });
  });

  it('uses the KubeVirt digest reference', () => {
    expect(lookupBootImage(ec50, 'rhel-10', { platform: 'KubeVirt', arch: 'amd64' })).toMatchObject(
      {
        kind: 'found',
        image:
          'quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:843e75c16c01218cae95c74a879934a1f3ad80a2149963510a51b1f45c712c56',
      },
    );
    expect(lookupBootImage(ec50, 'rhel-10', { platform: 'KubeVirt', arch: 's390x' })).toMatchObject(
      {
        kind: 'missing',
        availableIn: ['x86_64'],
        otherStreams: [],
      },
    );
    expect(
      lookupBootImage(embedded, 'rhel-10', { platform: 'KubeVirt', arch: 's390x' }),
    ).toMatchObject({
      kind: 'found',
    });
  });

  it('falls back to the KubeVirt tag reference when there is no digest reference', () => {
    const stream = JSON.stringify({
      architectures: { x86_64: { images: { kubevirt: { image: 'quay.io/x:kubevirt' } } } },
    });
    const { catalog } = parseBootImagesConfigMap({ data: { stream } }, 'x');
    expect(
      lookupBootImage(catalog, 'rhel-9', { platform: 'KubeVirt', arch: 'amd64' }),
    ).toMatchObject({
      kind: 'found',
      image: 'quay.io/x:kubevirt',
    });
  });

  it('uses the x86_64 OpenStack qcow2.gz disk', () => {
    const hit = lookupBootImage(ec50, 'rhel-10', { platform: 'OpenStack', arch: 'amd64' });
    expect(hit).toMatchObject({
      kind: 'found',
      image:
        'https://rhcos.mirror.openshift.com/art/storage/prod/streams/rhel-10.2/builds/10.2.20260405-0/x86_64/rhcos-10.2.20260405-0-openstack.x86_64.qcow2.gz',
    });
  });
});

describe('lookupBootImage: PowerVS', () => {
  it('maps PowerVS regions to COS regions as HyperShift does', () => {
    expect(powerVSImageRegion('syd')).toBe('au-syd');
    expect(powerVSImageRegion('dal')).toBe('us-south');
    expect(powerVSImageRegion('lon')).toBe('eu-gb');
    expect(powerVSImageRegion('tok')).toBe('jp-tok');
    expect(powerVSImageRegion('mad')).toBe('us-south');
    expect(powerVSImageRegion(undefined)).toBe('us-south');
  });

  it('finds the ppc64le image in the mapped COS region, and says where it is otherwise', () => {
    const powervs = (region: string): BootImageRequest => ({
      platform: 'PowerVS',
      arch: 'ppc64le',
      region,
    });
    expect(lookupBootImage(ec50, 'rhel-10', powervs('syd'))).toMatchObject({
      kind: 'found',
      image:
        'https://s3.au-syd.cloud-object-storage.appdomain.cloud/rhcos-powervs-images-au-syd/rhcos-10-2-20260405-0-ppc64le-powervs.ova.gz',
    });
    const miss = lookupBootImage(ec50, 'rhel-10', powervs('dal'));
    expect(miss).toEqual({
      kind: 'missing',
      reason:
        'rhel-10 (rhcos-4.22) has no PowerVS image in COS region us-south (PowerVS region dal)',
      availableIn: ['au-syd'],
      otherStreams: [],
    });
    expect(lookupBootImage(embedded, 'rhel-10', powervs('dal'))).toMatchObject({ kind: 'found' });
  });
});

describe('lookupBootImage: platforms without boot images', () => {
  it('needs nothing for Agent, None, IBMCloud or an unknown platform', () => {
    for (const platform of ['Agent', 'None', 'IBMCloud', '', 'aws']) {
      expect(lookupBootImage(ec50, 'rhel-10', { platform, arch: 'amd64' })).toEqual({
        kind: 'not-needed',
      });
    }
  });

  it('maps NodePool arch names to stream metadata keys', () => {
    expect(['amd64', 'arm64', 'ppc64le', 's390x', ''].map(metadataArch)).toEqual([
      'x86_64',
      'aarch64',
      'ppc64le',
      's390x',
      'x86_64',
    ]);
  });
});
