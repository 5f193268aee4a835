import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RegistryError } from './errors.js';
import {
  familiarReference,
  formatReference,
  manifestReference,
  parseReference,
  registryApiHost,
} from './reference.js';

const HEX64 = 'a'.repeat(64);

describe('parseReference', () => {
  it.each([
    ['alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['alpine:3.20', { registry: 'docker.io', repository: 'library/alpine', tag: '3.20' }],
    ['user/app', { registry: 'docker.io', repository: 'user/app' }],
    ['docker.io/alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['index.docker.io/library/alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['registry-1.docker.io/x/y:1', { registry: 'docker.io', repository: 'x/y', tag: '1' }],
    [
      'quay.io/openshift-release-dev/ocp-release:4.17.9-x86_64',
      {
        registry: 'quay.io',
        repository: 'openshift-release-dev/ocp-release',
        tag: '4.17.9-x86_64',
      },
    ],
    [
      `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${HEX64}`,
      {
        registry: 'quay.io',
        repository: 'openshift-release-dev/ocp-v4.0-art-dev',
        digest: `sha256:${HEX64}`,
      },
    ],
    [
      `127.0.0.1:5000/a/b:t@sha256:${HEX64}`,
      { registry: '127.0.0.1:5000', repository: 'a/b', tag: 't', digest: `sha256:${HEX64}` },
    ],
    ['localhost/x', { registry: 'localhost', repository: 'x' }],
    ['localhost:5000/x', { registry: 'localhost:5000', repository: 'x' }],
    ['Registry.Example/x', { registry: 'Registry.Example', repository: 'x' }],
    ['[::1]:5000/x/y', { registry: '[::1]:5000', repository: 'x/y' }],
    ['a__b/c-d--e/f.g', { registry: 'docker.io', repository: 'a__b/c-d--e/f.g' }],
  ])('%s', (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it.each([
    ['', 'empty'],
    ['UPPER', 'repository must be'],
    ['docker://quay.io/x', 'remove the transport'],
    ['https://quay.io/x', 'remove the transport'],
    ['quay.io/x:', 'malformed tag'],
    ['quay.io/x:-bad', 'malformed tag'],
    ['quay.io/x@sha256:abc', 'only sha256 and sha512'],
    [`quay.io/x@md5:${HEX64}`, 'only sha256 and sha512'],
    [`quay.io/x@sha256:${'A'.repeat(64)}`, 'only sha256 and sha512'],
    ['quay.io/x@', 'malformed digest'],
    ['quay.io/', 'repository must be'],
    ['quay.io//x', 'repository must be'],
    ['a/b/', 'repository must be'],
    ['-a/b', 'repository must be'],
    ['bad_host.-x/y', 'malformed registry host'],
    [`quay.io/${'a'.repeat(260)}`, 'longer than 255'],
  ])('refuses %j', (input, why) => {
    let caught: unknown;
    try {
      parseReference(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RegistryError);
    expect((caught as RegistryError).code).toBe('INVALID_REFERENCE');
    expect((caught as RegistryError).message).toContain(why);
  });

  it('never quotes user:password@ from a mistaken URL', () => {
    expect(() => parseReference('https://me:s3cret@quay.io/x')).toThrow(/<redacted>@/);
    expect(() => parseReference('https://me:s3cret@quay.io/x')).not.toThrow(/s3cret/);
  });
});

describe('formatting', () => {
  it('formats canonical and familiar forms', () => {
    const hub = parseReference('alpine:3');
    expect(formatReference(hub)).toBe('docker.io/library/alpine:3');
    expect(familiarReference(hub)).toBe('alpine:3');
    expect(familiarReference(parseReference('docker.io/user/app'))).toBe('user/app');
    const quay = parseReference(`quay.io/a/b:c@sha256:${HEX64}`);
    expect(familiarReference(quay)).toBe(`quay.io/a/b:c@sha256:${HEX64}`);
  });

  it('maps the Docker Hub API host and picks the manifest reference', () => {
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('quay.io')).toBe('quay.io');
    expect(manifestReference(parseReference('x'))).toBe('latest');
    expect(manifestReference(parseReference('x:1'))).toBe('1');
    expect(manifestReference(parseReference(`x:1@sha256:${HEX64}`))).toBe(`sha256:${HEX64}`);
  });
});

const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,6}){0,2}$/);
const host = fc.oneof(
  fc.constant('docker.io'),
  fc.constant('localhost'),
  fc.stringMatching(/^[a-z0-9]{1,8}(?:\.[a-z0-9]{1,8}){1,3}$/),
  fc
    .tuple(
      fc.stringMatching(/^[a-z0-9]{1,8}(?:\.[a-z0-9]{1,8}){0,2}$/),
      fc.integer({ min: 1, max: 65535 }),
    )
    .map(([h, p]) => `${h}:${p}`),
);
/** The reference without tag and digest. */
function nameOf(text: string): string {
  const name = text.split('@')[0] ?? '';
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

const validRef = fc
  .record({
    host,
    path: fc.array(component, { minLength: 1, maxLength: 4 }),
    tag: fc.option(fc.stringMatching(/^[\w][\w.-]{0,30}$/), { nil: undefined }),
    digest: fc.option(
      fc.oneof(
        fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`),
        fc.stringMatching(/^[a-f0-9]{128}$/).map((h) => `sha512:${h}`),
      ),
      { nil: undefined },
    ),
  })
  .filter(({ host: h }) => h !== 'index.docker.io' && h !== 'registry-1.docker.io')
  .map(({ host: h, path, tag, digest }) => {
    const segments = h === 'docker.io' && path.length === 1 ? ['library', ...path] : path;
    let text = `${h}/${segments.join('/')}`;
    if (tag !== undefined) text += `:${tag}`;
    if (digest !== undefined) text += `@${digest}`;
    return text;
  })
  .filter((text) => nameOf(text).length <= 255);

describe('properties', () => {
  it('format(parse(x)) === x for canonical references, and parse(format(r)) equals r', () => {
    fc.assert(
      fc.property(validRef, (text) => {
        const ref = parseReference(text);
        expect(formatReference(ref)).toBe(text);
        expect(parseReference(formatReference(ref))).toEqual(ref);
        expect(parseReference(familiarReference(ref))).toEqual(ref);
      }),
      { numRuns: 500 },
    );
  });

  const refChars = fc.string({
    unit: fc.constantFrom(...'abcAB09:/@._-[]sha256'.split('')),
    maxLength: 40,
  });

  it('parse throws nothing but an INVALID_REFERENCE RegistryError on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), refChars), (text) => {
        try {
          const ref = parseReference(text);
          expect(typeof ref.repository).toBe('string');
        } catch (err) {
          expect(err).toBeInstanceOf(RegistryError);
          expect((err as RegistryError).code).toBe('INVALID_REFERENCE');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
