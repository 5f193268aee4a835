import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  formatVersion,
  imageTag,
  parseVersion,
  versionFromPullspec,
} from './version.js';

const majorMinor = (text: string) => {
  const v = parseVersion(text);
  return v && formatVersion(v);
};

describe('parseVersion', () => {
  it('reads major.minor of releases, candidates and pre-releases', () => {
    expect(majorMinor('5.0.0-ec.2')).toBe('5.0');
    expect(majorMinor('4.17.0-rc.0')).toBe('4.17');
    expect(majorMinor('4.21.3')).toBe('4.21');
    expect(majorMinor('4.17.0-0.nightly-2024-08-01-120000')).toBe('4.17');
    expect(parseVersion('4.21.3')).toEqual({ major: 4, minor: 21, raw: '4.21.3' });
  });

  it('refuses the unsubstituted snapshot version and anything that is not a version', () => {
    for (const text of [
      '0.0.1-snapshot',
      '0.0.7',
      '',
      'latest',
      '4',
      '4.',
      '.4.1',
      'v4.17.0',
      '4.17x',
    ]) {
      expect(parseVersion(text), text).toBeUndefined();
    }
  });
});

describe('versionFromPullspec', () => {
  it('reads the tag', () => {
    const v = versionFromPullspec('quay.io/openshift-release-dev/ocp-release:4.17.0-rc.0-x86_64');
    expect(v && formatVersion(v)).toBe('4.17');
    expect(v?.raw).toBe('4.17.0-rc.0-x86_64');
  });

  it('does not take a registry port for a tag', () => {
    const v = versionFromPullspec('localhost:5000/x:5.0.1-multi');
    expect(v && formatVersion(v)).toBe('5.0');
    expect(versionFromPullspec('localhost:5000/openshift/release')).toBeUndefined();
    expect(imageTag('localhost:5000/openshift/release')).toBeUndefined();
  });

  it('gives nothing for a digest-only reference and uses the tag of tag@digest', () => {
    const digest = 'sha256:' + 'a'.repeat(64);
    expect(
      versionFromPullspec(`quay.io/openshift-release-dev/ocp-release@${digest}`),
    ).toBeUndefined();
    const v = versionFromPullspec(
      `quay.io/openshift-release-dev/ocp-release:4.21.3-x86_64@${digest}`,
    );
    expect(v && formatVersion(v)).toBe('4.21');
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        parseVersion(text);
        versionFromPullspec(text);
      }),
    );
  });

  it('reads X.Y from any tag X.Y.*, with or without a port or digest', () => {
    const tagChars = fc.constantFrom(
      ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-',
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 99999 }),
        fc.integer({ min: 0, max: 99999 }),
        fc.string({ unit: tagChars, maxLength: 40 }),
        fc.constantFrom('quay.io/ocp/release', 'localhost:5000/a/b', 'r.example.com:443/x'),
        fc.boolean(),
        (major, minor, rest, repo, withDigest) => {
          const tag = `${major}.${minor}.${rest}`;
          expect(majorMinor(tag)).toBe(`${major}.${minor}`);
          const digest = withDigest ? `@sha256:${'0'.repeat(64)}` : '';
          const v = versionFromPullspec(`${repo}:${tag}${digest}`);
          expect(v && formatVersion(v)).toBe(`${major}.${minor}`);
        },
      ),
    );
  });
});

describe('compareVersions', () => {
  it('compares major.minor only', () => {
    const v = (text: string) => parseVersion(text) ?? expect.fail(text);
    expect(compareVersions(v('5.0.0-ec.2'), v('5.0.3'))).toBe(0);
    expect(compareVersions(v('4.21.3'), v('5.0.0'))).toBeLessThan(0);
    expect(compareVersions(v('4.10.0'), v('4.9.9'))).toBeGreaterThan(0);
  });
});
