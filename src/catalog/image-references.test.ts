import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CatalogError } from './errors.js';
import { nodeImagesFromImageStream } from './image-references.js';

const fixtureText = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/upstream/${name}`, import.meta.url), 'utf8');

describe('nodeImagesFromImageStream', () => {
  it('maps the MCO tags to rhel-9 and rhel-10 OS and extensions images', () => {
    const images = nodeImagesFromImageStream(parseYaml(fixtureText('mco-image-references.yaml')));
    const placeholder = 'placeholder.url.oc.will.replace.this.org/placeholdernamespace';
    expect([...images.keys()]).toEqual(['rhel-9', 'rhel-10']);
    expect(images.get('rhel-9')).toEqual({
      os: `${placeholder}:rhel-coreos`,
      extensions: `${placeholder}:rhel-coreos-extensions`,
    });
    expect(images.get('rhel-10')).toEqual({
      os: `${placeholder}:rhel10-coreos`,
      extensions: `${placeholder}:rhel10-coreos-extensions`,
    });
  });

  it('reads a real release (4.12.0): its numbered rhel-coreos-8 tags follow the same naming', () => {
    const json = JSON.parse(
      fixtureText('oc-mirror/release-4.12.0-image-references.json'),
    ) as unknown;
    const images = nodeImagesFromImageStream(json);
    const art = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:';
    expect(images.get('rhel-8')).toEqual({
      os: `${art}6db665511f305ef230a2c752d836fe073e80550dc21cede3c55cf44db01db365`,
      extensions: `${art}1b967b048fac8006b51e715dfc1720ee3f3dd6dadff6baab4fd07c3ec378a6f0`,
    });
    expect(images.get('rhel-9')).toBeUndefined();
  });

  it('maps future streams by the same naming and ignores look-alikes', () => {
    const tag = (name: string) => ({ name, from: { kind: 'DockerImage', name: `r/x:${name}` } });
    const images = nodeImagesFromImageStream({
      spec: {
        tags: [
          tag('rhel-coreos-11'),
          tag('rhel-coreos-11-extensions'),
          tag('rhel-coreos-010'),
          tag('rhel-coreos-extensions-x'),
          tag('machine-os-content'),
        ],
      },
    });
    expect([...images]).toEqual([
      ['rhel-11', { os: 'r/x:rhel-coreos-11', extensions: 'r/x:rhel-coreos-11-extensions' }],
    ]);
  });

  it('names the place of malformed input', () => {
    const where = (input: unknown) => {
      try {
        nodeImagesFromImageStream(input, 'release 5.0 image-references');
      } catch (err) {
        if (err instanceof CatalogError) return err.message;
      }
      return 'no CatalogError';
    };
    expect(where('x')).toBe('release 5.0 image-references: expected an object, got a string');
    expect(where({})).toBe('release 5.0 image-references.spec: missing (expected an object)');
    expect(where({ spec: { tags: {} } })).toBe(
      'release 5.0 image-references.spec.tags: expected an array of tags',
    );
    expect(where({ spec: { tags: [{ name: 'rhel-coreos-10' }] } })).toBe(
      'release 5.0 image-references.spec.tags[0].from: missing (expected an object)',
    );
    expect(where({ spec: { tags: [{ name: 'rhel-coreos', from: { name: 7 } }] } })).toBe(
      'release 5.0 image-references.spec.tags[0].from.name: expected a string, got a number',
    );
    const dup = { name: 'rhel-coreos', from: { name: 'a' } };
    expect(where({ spec: { tags: [dup, dup] } })).toMatch(
      /tags\[1\]: second tag for the rhel-9 os/,
    );
    expect(where({ spec: { tags: [{ __proto__: null, name: 'x' }] } })).toBe('no CatalogError');
    expect(where(JSON.parse('{"spec":{"__proto__":{"tags":[]}}}'))).toBe(
      'release 5.0 image-references.spec["__proto__"]: forbidden key',
    );
  });
});
