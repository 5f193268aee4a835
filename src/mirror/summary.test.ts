import { describe, expect, it } from 'vitest';
import { renderMapping } from './mapping.js';
import { formatBytes, renderImagesJson, totalSize, destinationRepositories } from './summary.js';
import type { ImagePlan, PlannedImage } from './types.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const layer = (c: string, size: number) => ({ digest: d(c), size });

function image(tag: string, extra: Partial<PlannedImage>): PlannedImage {
  return {
    kind: 'component',
    release: '4.0.0-x86_64',
    tag,
    stream: 'shared',
    source: `q.io/a/b@${d(tag.slice(0, 1))}`,
    destination: `reg/ns/openshift/release:4.0.0-x86_64-${tag}`,
    digest: d(tag.slice(0, 1)),
    ...extra,
  };
}

describe('totalSize', () => {
  it('counts each layer once and each manifest once', () => {
    // a: manifest+config 100, layers x(1000) y(200); b: 50, layers x(1000) z(30);
    // c is b again under another tag; e has only a size; f has nothing known.
    const a = image('a', { size: 1300, layers: [layer('1', 1000), layer('2', 200)] });
    const b = image('b', { size: 1080, layers: [layer('1', 1000), layer('3', 30)] });
    const c = image('c', { digest: b.digest, size: 1080, layers: b.layers ?? [] });
    const e = image('e', { size: 7 });
    const f = image('f', {});
    expect(totalSize([a, b, c, e, f])).toEqual({
      images: 5,
      manifests: 4,
      bytes: 100 + 50 + 1000 + 200 + 30 + 7,
      unknown: 1,
    });
    expect(totalSize([])).toEqual({ images: 0, manifests: 0, bytes: 0, unknown: 0 });
  });

  it('never counts negative manifest bytes for inconsistent sizes', () => {
    expect(totalSize([image('a', { size: 10, layers: [layer('1', 50)] })]).bytes).toBe(50);
  });
});

describe('formatting', () => {
  it('formats bytes exactly and readably, independent of locale', () => {
    expect(formatBytes(0)).toBe('0 bytes');
    expect(formatBytes(1023)).toBe('1,023 bytes');
    expect(formatBytes(1536)).toBe('1,536 bytes (1.50 KiB)');
    expect(formatBytes(12 * 1024 ** 3)).toBe('12,884,901,888 bytes (12.00 GiB)');
  });

  it('lists distinct destination repositories, sorted', () => {
    expect(
      destinationRepositories([
        image('b', {}),
        image('a', { destination: 'reg/ns/openshift/release-images:4.0.0-x86_64' }),
        image('c', {}),
      ]),
    ).toEqual(['reg/ns/openshift/release', 'reg/ns/openshift/release-images']);
  });

  it('images.json has a fixed key order and nulls for unknowns', () => {
    const plan: ImagePlan = {
      to: 'reg/ns',
      maxNestedPaths: 0,
      releases: [],
      offeredStreams: [],
      streams: [],
      images: [
        image('a', { size: 5, mediaType: 'm' }),
        image('b', { kind: 'kubevirt', arch: 'x86_64' }),
      ],
      excluded: [],
    };
    const json = JSON.parse(renderImagesJson(plan)) as { images: Record<string, unknown>[] };
    expect(json.images.map((i) => Object.keys(i))).toEqual([
      [
        'release',
        'kind',
        'tag',
        'stream',
        'arch',
        'source',
        'destination',
        'digest',
        'mediaType',
        'size',
      ],
      [
        'release',
        'kind',
        'tag',
        'stream',
        'arch',
        'source',
        'destination',
        'digest',
        'mediaType',
        'size',
      ],
    ]);
    expect(json.images[0]).toMatchObject({ arch: null, mediaType: 'm', size: 5 });
    expect(json.images[1]).toMatchObject({ arch: 'x86_64', mediaType: null, size: null });
    expect(renderImagesJson(plan).endsWith('}\n')).toBe(true);
  });
});

describe('renderMapping', () => {
  it('writes docker://SRC=docker://DST lines, sorted, newline-terminated', () => {
    const text = renderMapping([image('b', {}), image('a', {})]);
    expect(text).toBe(
      [
        `docker://q.io/a/b@${d('a')}=docker://reg/ns/openshift/release:4.0.0-x86_64-a`,
        `docker://q.io/a/b@${d('b')}=docker://reg/ns/openshift/release:4.0.0-x86_64-b`,
        '',
      ].join('\n'),
    );
    expect(renderMapping([])).toBe('');
  });
});
