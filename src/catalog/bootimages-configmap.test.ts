import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { ConfigMap } from '../k8s/objects.js';
import { parseBootImagesConfigMap } from './bootimages-configmap.js';
import { CatalogError } from './errors.js';

const fixture = (name: string) =>
  parseYaml(
    readFileSync(new URL(`../../test/fixtures/upstream/${name}`, import.meta.url), 'utf8'),
  ) as ConfigMap;

const CM_50 = 'hypershift-fixture-5.0-coreos-bootimages-configmap.yaml';
const CM_410 = 'hypershift-fixture-4.10-coreos-bootimages-configmap.yaml';

describe('parseBootImagesConfigMap', () => {
  it('reads the dual-stream 5.0 payload: rhel-9 and rhel-10, plus the legacy key', () => {
    const { releaseVersion, catalog } = parseBootImagesConfigMap(fixture(CM_50), '5.0');
    expect(releaseVersion).toBe('5.0.0-ec.2');
    expect(catalog.streams).toEqual(['rhel-9', 'rhel-10']);
    expect(catalog.multiStream).toBe(true);
    expect(catalog.stream('rhel-10')?.metadataStream).toBe('rhcos-4.22');
    expect(catalog.stream('rhel-9')?.metadataStream).toBe('rhcos-4.21');
    expect(catalog.legacy?.name).toBe('rhel-9');
    expect(catalog.legacy?.metadataStream).toBe('rhcos-4.21');
    expect(catalog.stream('rhel-11')).toBeUndefined();
    const aws = catalog.stream('rhel-10')?.architectures.get('x86_64')?.awsRegions;
    expect(aws?.get('us-east-1')).toEqual({
      release: '10.2.20260405-0',
      image: 'ami-04b3d999e39d62c5b',
    });
  });

  it('reads the legacy single-stream 4.10 payload as rhel-9 only', () => {
    const { releaseVersion, catalog } = parseBootImagesConfigMap(fixture(CM_410), '4.10');
    expect(releaseVersion).toBe('0.0.1-snapshot');
    expect(catalog.streams).toEqual(['rhel-9']);
    expect(catalog.multiStream).toBe(false);
    expect(catalog.stream('rhel-9')).toBe(catalog.legacy);
    expect(catalog.legacy?.metadataStream).toBe('rhcos-4.10');
    expect(catalog.stream('rhel-10')).toBeUndefined();
  });

  it('reads a streams-only ConfigMap without a legacy stream', () => {
    const streams = JSON.stringify({ 'rhel-10': { stream: 'rhcos-4.22', architectures: {} } });
    const { catalog } = parseBootImagesConfigMap({ data: { streams } }, 'cm');
    expect(catalog.streams).toEqual(['rhel-10']);
    expect(catalog.legacy).toBeUndefined();
  });

  it('parses the same content once: a repeat is a cache hit', () => {
    const first = parseBootImagesConfigMap(fixture(CM_50), 'a').catalog;
    const again = parseBootImagesConfigMap(fixture(CM_50), 'b').catalog;
    expect(again).toBe(first);
    const other = parseBootImagesConfigMap(fixture(CM_410), 'c').catalog;
    expect(other).not.toBe(first);
  });

  it('stays bounded: old entries are evicted, recently used ones kept', () => {
    const keep = fixture(CM_410);
    const kept = parseBootImagesConfigMap(keep, 'keep').catalog;
    const filler = (i: number): ConfigMap => ({
      data: { stream: JSON.stringify({ stream: `s${i}`, architectures: {} }) },
    });
    const firstFiller = parseBootImagesConfigMap(filler(0), 'filler').catalog;
    for (let i = 1; i < 200; i++) {
      parseBootImagesConfigMap(filler(i), 'filler');
      if (i % 10 === 0) expect(parseBootImagesConfigMap(keep, 'keep').catalog).toBe(kept);
    }
    expect(parseBootImagesConfigMap(filler(199), 'filler').catalog).toBe(
      parseBootImagesConfigMap(filler(199), 'filler').catalog,
    );
    // Evicted long ago: parsed afresh.
    expect(parseBootImagesConfigMap(filler(0), 'filler').catalog).not.toBe(firstFiller);
  });

  it('fails only when both keys are missing', () => {
    expect(() => parseBootImagesConfigMap({ data: { releaseVersion: '5.0.0' } }, 'cm')).toThrow(
      /neither a "stream" nor a "streams" key/,
    );
    expect(() => parseBootImagesConfigMap({}, 'cm')).toThrow(CatalogError);
  });

  it('names the stream and path of malformed content', () => {
    const cm = fixture(CM_50);
    const streams = JSON.parse(cm.data?.streams ?? '') as Record<string, unknown>;
    const rhel10 = streams['rhel-10'] as { architectures: Record<string, { images: unknown }> };
    const x86 = rhel10.architectures.x86_64;
    if (x86) x86.images = { aws: { regions: 'us-east-1' } };
    const broken = { data: { ...cm.data, streams: JSON.stringify(streams) } };
    expect(() => parseBootImagesConfigMap(broken, 'coreos-bootimages')).toThrow(
      'coreos-bootimages data.streams["rhel-10"].architectures.x86_64.images.aws.regions: expected an object, got a string',
    );
  });

  it('rejects malformed JSON, non-string values and __proto__ stream names', () => {
    const where = (cm: ConfigMap) => {
      try {
        parseBootImagesConfigMap(cm, 'cm');
      } catch (err) {
        if (err instanceof CatalogError) return err.where;
      }
      return 'no CatalogError';
    };
    expect(where({ data: { stream: '{"architectures": ' } })).toBe('cm data.stream');
    expect(where({ data: { streams: '[]' } })).toBe('cm data.streams');
    expect(where({ data: { stream: 42 } } as unknown as ConfigMap)).toBe('cm data.stream');
    expect(where({ data: 'x' } as unknown as ConfigMap)).toBe('cm data');
    expect(where({ data: { streams: '{"__proto__": {"architectures": {}}}' } })).toBe(
      'cm data.streams["__proto__"]',
    );
  });
});
