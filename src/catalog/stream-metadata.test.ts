import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CatalogError } from './errors.js';
import {
  mergeMarketplace,
  parseStreamMetadata,
  parseStreamMetadataText,
} from './stream-metadata.js';

const readData = (file: string) =>
  JSON.parse(
    readFileSync(new URL(`../../data/catalog/${file}`, import.meta.url), 'utf8'),
  ) as unknown;

const fixture50Streams = () => {
  const url = new URL(
    '../../test/fixtures/upstream/hypershift-fixture-5.0-coreos-bootimages-configmap.yaml',
    import.meta.url,
  );
  const cm = parseYaml(readFileSync(url, 'utf8')) as { data: { streams: string } };
  return JSON.parse(cm.data.streams) as Record<string, unknown>;
};

/** The CatalogError a call throws, to assert on `where`. */
function catalogError(fn: () => unknown): CatalogError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CatalogError) return err;
    throw err;
  }
  throw new Error('expected a CatalogError');
}

function minimal(): Record<string, unknown> {
  return {
    stream: 'rhcos-4.22',
    architectures: {
      x86_64: {
        images: { aws: { regions: { 'us-east-1': { release: 'r', image: 'ami-1' } } } },
      },
    },
  };
}

describe('parseStreamMetadata', () => {
  it('indexes every architecture of the installer rhel-10 file', () => {
    const s = parseStreamMetadata(
      readData('coreos-rhel-10.json'),
      'rhel-10',
      'coreos-rhel-10.json',
    );
    expect(s.name).toBe('rhel-10');
    expect(s.metadataStream).toBe('rhcos-4.22');
    expect([...s.architectures.keys()].sort()).toEqual(['aarch64', 'ppc64le', 's390x', 'x86_64']);
    const x86 = s.architectures.get('x86_64');
    expect(x86?.release).toBe('10.2.20260405-0');
    expect(x86?.awsRegions.size).toBe(34);
    expect(x86?.gcp?.project).toBe('rhcos-cloud');
    expect(x86?.openstack?.location).toMatch(/openstack\.x86_64\.qcow2\.gz$/);
    expect(x86?.artifacts.get('openstack/qcow2.gz')).toEqual(x86?.openstack);
    // No marketplace data before the merge: the installer keeps it in a separate file.
    expect(x86?.azureNoPurchasePlan).toEqual({});
    expect(s.architectures.get('ppc64le')?.powervsRegions.get('us-south')?.bucket).toBe(
      'rhcos-powervs-images-us-south',
    );
    expect(s.architectures.get('s390x')?.kubevirt?.digestRef).toMatch(/@sha256:/);
  });

  it('tolerates absent optional parts', () => {
    const s = parseStreamMetadata({ architectures: { s390x: {} } }, 'rhel-9', '');
    const arch = s.architectures.get('s390x');
    expect(s.metadataStream).toBe('');
    expect(arch?.awsRegions.size).toBe(0);
    expect(arch?.gcp).toBeUndefined();
    expect(arch?.release).toBeUndefined();
    expect(arch?.azureNoPurchasePlan).toEqual({});
  });

  it('names the path of a wrong type', () => {
    const doc = minimal();
    const x86 = (doc.architectures as Record<string, Record<string, unknown>>).x86_64 ?? {};
    x86.images = { aws: { regions: [] } };
    const err = catalogError(() => parseStreamMetadata(doc, 'rhel-10', 'streams["rhel-10"]'));
    expect(err.where).toBe('streams["rhel-10"].architectures.x86_64.images.aws.regions');
    expect(err.message).toBe(
      'streams["rhel-10"].architectures.x86_64.images.aws.regions: expected an object, got an array',
    );
  });

  it('names the path of a missing required field', () => {
    const doc = minimal();
    const x86 = (doc.architectures as Record<string, Record<string, unknown>>).x86_64 ?? {};
    x86.images = { aws: { regions: { 'us-east-1': { release: 'r' } } } };
    const err = catalogError(() => parseStreamMetadata(doc, 'rhel-10', 'f.json'));
    expect(err.where).toBe('f.json.architectures.x86_64.images.aws.regions["us-east-1"].image');
    expect(err.problem).toBe('missing (expected a string)');
  });

  it('refuses a document without architectures', () => {
    expect(catalogError(() => parseStreamMetadata({ stream: 'x' }, 'rhel-9', 'doc')).where).toBe(
      'doc.architectures',
    );
    expect(catalogError(() => parseStreamMetadata([], 'rhel-9', 'doc')).where).toBe('doc');
  });

  it('refuses __proto__ keys, wherever they are', () => {
    const text =
      '{"architectures":{"x86_64":{"images":{"aws":{"regions":{"__proto__":{"image":"ami-x"}}}}}}}';
    const err = catalogError(() => parseStreamMetadataText(text, 'rhel-9', 'doc'));
    expect(err.where).toBe('doc.architectures.x86_64.images.aws.regions["__proto__"]');
    const top = '{"__proto__":{"polluted":true},"architectures":{}}';
    expect(catalogError(() => parseStreamMetadataText(top, 'rhel-9', 'doc')).where).toBe(
      'doc["__proto__"]',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reports malformed JSON with the place it came from', () => {
    const err = catalogError(() => parseStreamMetadataText('{"architectures":', 'rhel-9', 'doc'));
    expect(err.where).toBe('doc');
    expect(err.problem).toMatch(/^invalid JSON/);
  });
});

describe('mergeMarketplace', () => {
  it('does what the installer build does: the merged rhel-9 file matches the payload fixture', () => {
    const merged = mergeMarketplace(
      readData('coreos-rhel-9.json'),
      readData('marketplace-coreos-rhel-9.json'),
    );
    const fromPayload = fixture50Streams()['rhel-9'] as { architectures: Record<string, unknown> };
    const ext = (doc: { architectures: Record<string, unknown> }, arch: string) =>
      (doc.architectures[arch] as Record<string, { marketplace?: unknown }>)[
        'rhel-coreos-extensions'
      ]?.marketplace;
    for (const arch of ['x86_64', 'aarch64']) {
      expect(ext(merged as typeof fromPayload, arch)).toEqual(ext(fromPayload, arch));
    }
    const parsed = parseStreamMetadata(merged, 'rhel-9', 'merged');
    expect(parsed.architectures.get('x86_64')?.azureNoPurchasePlan.Gen1?.sku).toBe('aro_420');
    expect(parsed.architectures.get('aarch64')?.azureNoPurchasePlan.Gen2?.sku).toBe('420-arm');
  });

  it('creates rhel-coreos-extensions where an arch lacks it, and leaves the inputs untouched', () => {
    const stream = { stream: 's', architectures: { ppc64le: { images: {} }, s390x: {} } };
    const marketplace = { ppc64le: { azure: { 'no-purchase-plan': {} } } };
    const before = JSON.stringify(stream);
    const merged = mergeMarketplace(stream, marketplace) as typeof stream & {
      architectures: Record<string, unknown>;
    };
    expect(merged.architectures.ppc64le).toEqual({
      images: {},
      'rhel-coreos-extensions': { marketplace: { azure: { 'no-purchase-plan': {} } } },
    });
    expect(merged.architectures.s390x).toEqual({});
    expect(JSON.stringify(stream)).toBe(before);
  });

  it('names the bad part of a malformed marketplace file', () => {
    const err = catalogError(() =>
      mergeMarketplace(minimal(), { x86_64: 'nope' }, { stream: 'a.json', marketplace: 'm.json' }),
    );
    expect(err.where).toBe('m.json.x86_64');
  });
});
