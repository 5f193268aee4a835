import { describe, expect, it } from 'vitest';
import { clearConfigCache, parseNodePoolConfig } from './parse-config.js';

const crc = `apiVersion: machineconfiguration.openshift.io/v1
kind: ContainerRuntimeConfig
metadata: {name: runtime}
spec:
  containerRuntimeConfig: {defaultRuntime: runc}
`;
const mc = `apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata: {name: 99-worker}
spec: {config: {ignition: {version: 3.2.0}}}
`;
const idms = `apiVersion: config.openshift.io/v1
kind: ImageDigestMirrorSet
metadata: {name: mirrors}
spec: {imageDigestMirrors: [{source: quay.io/openshift-release-dev/ocp-v4.0-art-dev, mirrors: [m.example/ocp]}]}
`;

describe('parseNodePoolConfig', () => {
  it('splits several documents and sorts them by kind', () => {
    const text = [
      crc,
      mc,
      idms,
      'apiVersion: v1\nkind: KubeletConfig\nmetadata: {name: k}\n',
      '',
    ].join('---\n');
    const parsed = parseNodePoolConfig(text, 'ConfigMap a key config');
    expect(parsed.errors).toEqual([]);
    expect(parsed.containerRuntimeConfigs.map((o) => o.metadata?.name)).toEqual(['runtime']);
    expect(parsed.machineConfigs.map((o) => o.metadata?.name)).toEqual(['99-worker']);
    expect(parsed.imageDigestMirrorSets.map((o) => o.metadata?.name)).toEqual(['mirrors']);
    expect([...parsed.others.keys()]).toEqual(['KubeletConfig']);
  });

  it('keeps a known kind under another apiVersion with the others', () => {
    const parsed = parseNodePoolConfig(crc.replace('/v1', '/v2'), 'w');
    expect(parsed.containerRuntimeConfigs).toEqual([]);
    expect(parsed.others.get('ContainerRuntimeConfig')).toHaveLength(1);
  });

  it('reports YAML syntax errors with where, line and column, and keeps the good documents', () => {
    const text = `${crc}---\nkind: MachineConfig\nspec: [1,\n`;
    const parsed = parseNodePoolConfig(text, 'ConfigMap pool-config key config');
    expect(parsed.containerRuntimeConfigs).toHaveLength(1);
    expect(parsed.errors).toHaveLength(1);
    expect(parsed.errors[0]).toMatch(
      /^ConfigMap pool-config key config: line \d+, column \d+: invalid YAML: /,
    );
  });

  it('reports duplicate keys at their line', () => {
    const parsed = parseNodePoolConfig('kind: A\nkind: B\n', 'cm');
    expect(parsed.errors).toEqual(['cm: line 2, column 1: invalid YAML: Map keys must be unique']);
  });

  it('reports documents that are not objects or have no kind', () => {
    const parsed = parseNodePoolConfig('- a\n---\nhello\n---\nmetadata: {}\n', 'cm');
    expect(parsed.errors).toEqual([
      'cm: document 1: not a Kubernetes object (expected a mapping)',
      'cm: document 2: not a Kubernetes object (expected a mapping)',
      'cm: document 3: object has no kind',
    ]);
  });

  it('reports alias bombs instead of expanding them', () => {
    const lines = ['kind: X', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) {
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    }
    const parsed = parseNodePoolConfig(lines.join('\n'), 'cm');
    expect(parsed.errors).toHaveLength(1);
    expect(parsed.errors[0]).toMatch(/^cm: document 1: invalid YAML: /);
  });

  it('keeps __proto__ keys as plain data', () => {
    const parsed = parseNodePoolConfig(
      'kind: Thing\n__proto__: {polluted: true}\nspec: {__proto__: {x: 1}}\n',
      'cm',
    );
    const obj = parsed.others.get('Thing')?.[0] as Record<string, unknown>;
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    expect(Object.hasOwn(obj, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('returns the same frozen object for the same content (a cache hit)', () => {
    clearConfigCache();
    const text = `${crc}---\n${mc}`;
    const a = parseNodePoolConfig(text, 'cm');
    const b = parseNodePoolConfig(`${text}`, 'other cm');
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.containerRuntimeConfigs[0])).toBe(true);
    expect(Object.isFrozen(a.containerRuntimeConfigs[0]?.metadata)).toBe(true);
  });

  it('names the right ConfigMap when equal broken content is parsed under another name', () => {
    clearConfigCache();
    const first = parseNodePoolConfig('kind: [', 'cm-a');
    const second = parseNodePoolConfig('kind: [', 'cm-b');
    expect(first.errors[0]).toMatch(/^cm-a: /);
    expect(second.errors[0]).toMatch(/^cm-b: /);
    expect(parseNodePoolConfig('kind: [', 'cm-b')).toBe(second);
  });

  it('treats empty text as no objects', () => {
    const parsed = parseNodePoolConfig('', 'cm');
    expect(parsed.errors).toEqual([]);
    expect(parsed.machineConfigs).toEqual([]);
  });
});
