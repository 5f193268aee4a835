import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeArch, goArch, compareArchs } from './arch.js';
import { PlanError } from './errors.js';
import {
  checkMaxNestedPaths,
  destinationRef,
  flattenPath,
  formatRef,
  parseRef,
  parseRepository,
} from './ref.js';

const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('parseRef (oc-mirror ImageSpec parts)', () => {
  it('splits domain, path, tag and digest', () => {
    expect(parseRef('quay.io/openshift-release-dev/ocp-release:4.17.9-x86_64')).toEqual({
      name: 'quay.io/openshift-release-dev/ocp-release',
      domain: 'quay.io',
      path: 'openshift-release-dev/ocp-release',
      tag: '4.17.9-x86_64',
    });
    expect(parseRef(`docker://reg:5000/ns/repo@${digest}`)).toEqual({
      name: 'reg:5000/ns/repo',
      domain: 'reg:5000',
      path: 'ns/repo',
      digest,
    });
    expect(parseRef(`nvcr.io/nvidia/k8s/container-toolkit:v1.19.1@${digest}`)).toMatchObject({
      path: 'nvidia/k8s/container-toolkit',
      tag: 'v1.19.1',
      digest,
    });
  });

  it('treats a port as part of the registry, not a tag', () => {
    expect(parseRef('localhost:5000/x:5.0.1-multi')).toMatchObject({
      domain: 'localhost:5000',
      tag: '5.0.1-multi',
    });
  });

  it('round-trips through formatRef', () => {
    for (const ref of ['quay.io/a/b:c', `quay.io/a/b@${digest}`, `reg:1/a:b@${digest}`]) {
      expect(formatRef(parseRef(ref))).toBe(ref);
    }
  });

  it('refuses what cannot be planned', () => {
    for (const bad of [
      'quay.io/a/b',
      'quay.io/a/b@sha256:abc',
      'quay.io/A/b:t',
      'oci:///tmp/catalog',
      'file://x/y:z',
      'onlyname:tag',
      'quay.io/a/b:bad tag',
    ]) {
      expect(() => parseRef(bad), bad).toThrow(PlanError);
    }
  });
});

describe('parseRepository (--to)', () => {
  it('accepts a registry with or without namespaces, and a docker:// prefix', () => {
    expect(parseRepository('docker://reg.example.com:5000/a/b/')).toEqual({
      name: 'reg.example.com:5000/a/b',
      domain: 'reg.example.com:5000',
      path: 'a/b',
    });
    expect(parseRepository('reg')).toEqual({ name: 'reg', domain: 'reg', path: '' });
  });

  it('refuses tags, digests, upper-case paths and bad hosts', () => {
    for (const bad of ['reg/ns:tag', `reg/ns@${digest}`, 'reg/NS', '-reg/ns', '']) {
      expect(() => parseRepository(bad), bad).toThrow(PlanError);
    }
  });
});

describe('--max-nested-paths (oc-mirror WithMaxNestedPaths)', () => {
  it('keeps N-1 segments and joins the rest with "-"', () => {
    expect(flattenPath('mynamespace/cockroachdb/cockroach-helm-operator', 2)).toBe(
      'mynamespace/cockroachdb-cockroach-helm-operator',
    );
    expect(flattenPath('a/b/c/d', 3)).toBe('a/b/c-d');
    expect(flattenPath('a/b', 3)).toBe('a/b');
    expect(flattenPath('a/b/c', 0)).toBe('a/b/c');
  });

  it('flattens destinations below the registry only', () => {
    const to = parseRepository('reg:5000/ns');
    expect(formatRef(destinationRef(to, 'openshift/release', '4.12.0-x86_64-tools', 2))).toBe(
      'reg:5000/ns/openshift-release:4.12.0-x86_64-tools',
    );
    expect(formatRef(destinationRef(parseRepository('reg'), 'openshift/release', 't', 2))).toBe(
      'reg/openshift/release:t',
    );
  });

  it('must be above the depth of --to (as oc-mirror validates)', () => {
    expect(() => checkMaxNestedPaths(parseRepository('reg/a/b'), 2)).toThrow(PlanError);
    expect(() => checkMaxNestedPaths(parseRepository('reg/a/b'), 3)).not.toThrow();
    expect(() => checkMaxNestedPaths(parseRepository('reg'), 1)).toThrow(PlanError);
    expect(() => checkMaxNestedPaths(parseRepository('reg'), -1)).toThrow(PlanError);
    expect(() => checkMaxNestedPaths(parseRepository('reg'), 1.5)).toThrow(PlanError);
    expect(() => checkMaxNestedPaths(parseRepository('reg/a/b/c'), 0)).not.toThrow();
  });

  it('property: at most N segments, the first N-1 kept, nothing lost', () => {
    const segment = fc.stringMatching(/^[a-z0-9]{1,6}$/);
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 2, max: 8 }),
        (segments, max) => {
          const path = segments.join('/');
          const flat = flattenPath(path, max).split('/');
          expect(flat.length).toBeLessThanOrEqual(max);
          if (segments.length <= max) expect(flat).toEqual(segments);
          else {
            expect(flat.slice(0, max - 1)).toEqual(segments.slice(0, max - 1));
            expect(flat[max - 1]).toBe(segments.slice(max - 1).join('-'));
          }
        },
      ),
    );
  });
});

describe('architectures', () => {
  it('maps Go names to stream metadata names and back', () => {
    expect(normalizeArch('amd64')).toBe('x86_64');
    expect(normalizeArch('arm64')).toBe('aarch64');
    expect(normalizeArch('multi')).toBe('multi');
    expect(goArch('x86_64')).toBe('amd64');
    expect(goArch('s390x')).toBe('s390x');
    expect(() => normalizeArch('riscv64')).toThrow(PlanError);
    expect(() => normalizeArch('__proto__')).toThrow(PlanError);
    expect(['s390x', 'aarch64', 'zz', 'x86_64'].sort(compareArchs)).toEqual([
      'x86_64',
      'aarch64',
      's390x',
      'zz',
    ]);
  });
});
