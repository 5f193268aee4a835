import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { detectRunc } from './detect.js';
import { compareBytes } from './order.js';

type Encoding = 'percent' | 'base64' | 'gzip';

function dataUrl(text: string, encoding: Encoding): { source: string; compression?: string } {
  if (encoding === 'percent') return { source: `data:,${encodeURIComponent(text)}` };
  if (encoding === 'base64') {
    return {
      source: `data:text/plain;charset=utf-8;base64,${Buffer.from(text).toString('base64')}`,
    };
  }
  return {
    source: `data:;base64,${gzipSync(Buffer.from(text)).toString('base64')}`,
    compression: 'gzip',
  };
}

function dropIn(runtime: string): string {
  return runtime === ''
    ? '[crio.runtime]\nlog_level = "info"\n'
    : `[crio.runtime]\ndefault_runtime = "${runtime}"\n`;
}

interface File {
  path: string;
  text: string;
  encoding?: Encoding;
}

function machineConfig(name: string, files: File[]): string {
  return stringify({
    apiVersion: 'machineconfiguration.openshift.io/v1',
    kind: 'MachineConfig',
    metadata: { name, labels: { 'machineconfiguration.openshift.io/role': 'worker' } },
    spec: {
      config: {
        ignition: { version: '3.2.0' },
        storage: {
          files: files.map((f) => ({
            path: f.path,
            mode: 420,
            overwrite: true,
            contents: dataUrl(f.text, f.encoding ?? 'percent'),
          })),
        },
      },
    },
  });
}

function containerRuntimeConfig(name: string, defaultRuntime: string): string {
  return stringify({
    apiVersion: 'machineconfiguration.openshift.io/v1',
    kind: 'ContainerRuntimeConfig',
    metadata: { name },
    spec: { containerRuntimeConfig: { defaultRuntime } },
  });
}

const cm = (name: string, ...docs: string[]) => ({ name, data: { config: docs.join('---\n') } });
const D = '/etc/crio/crio.conf.d/';

describe('detectRunc: HyperShift path (ContainerRuntimeConfig)', () => {
  it('finds defaultRuntime runc in any document of any ConfigMap', () => {
    const result = detectRunc([
      cm('a', containerRuntimeConfig('crun', 'crun')),
      cm('b', machineConfig('99-x', []), containerRuntimeConfig('use-runc', 'runc')),
    ]);
    expect(result).toEqual({
      containerRuntimeConfig: {
        configMap: 'b',
        object: 'ContainerRuntimeConfig/use-runc',
        detail: 'spec.containerRuntimeConfig.defaultRuntime: runc',
      },
      errors: [],
    });
  });

  it('ignores crun, other apiVersions and ConfigMaps without the config key', () => {
    const other = containerRuntimeConfig('x', 'runc').replace('/v1', '/v1alpha1');
    const result = detectRunc([cm('a', containerRuntimeConfig('c', 'crun'), other), { name: 'b' }]);
    expect(result).toEqual({ errors: [] });
  });
});

describe('detectRunc: MCO path (CRI-O drop-ins)', () => {
  it.each<Encoding>(['percent', 'base64', 'gzip'])('reads %s data URLs', (encoding) => {
    const result = detectRunc([
      cm(
        'cfg',
        machineConfig('99-runc', [{ path: `${D}99-runc`, text: dropIn('runc'), encoding }]),
      ),
    ]);
    expect(result).toEqual({
      machineConfig: {
        configMap: 'cfg',
        object: 'MachineConfig/99-runc',
        detail: 'file /etc/crio/crio.conf.d/99-runc [crio.runtime] default_runtime = "runc"',
      },
      errors: [],
    });
  });

  it('reads files in path order: the last non-empty value wins', () => {
    const files = (last: string): File[] => [
      { path: `${D}50-b`, text: dropIn(last) },
      { path: `${D}10-a`, text: dropIn('runc') },
      { path: `${D}70-c`, text: dropIn('') },
    ];
    expect(detectRunc([cm('c', machineConfig('m', files('crun')))]).machineConfig).toBeUndefined();
    expect(detectRunc([cm('c', machineConfig('m', files('runc')))]).machineConfig?.detail).toBe(
      `file ${D}50-b [crio.runtime] default_runtime = "runc"`,
    );
    // Only the empty file after 10-a: runc stays.
    const onlyEmpty = files('').filter((f) => !f.path.endsWith('50-b'));
    expect(detectRunc([cm('c', machineConfig('m', onlyEmpty))]).machineConfig?.detail).toBe(
      `file ${D}10-a [crio.runtime] default_runtime = "runc"`,
    );
  });

  it('sorts paths by byte, not by MachineConfig or ConfigMap order', () => {
    const result = detectRunc([
      cm('first', machineConfig('00-a', [{ path: `${D}Z`, text: dropIn('runc') }])),
      cm('second', machineConfig('00-b', [{ path: `${D}a`, text: dropIn('crun') }])),
    ]);
    // 'Z' (0x5a) sorts before 'a' (0x61): crun is last.
    expect(result.machineConfig).toBeUndefined();
  });

  it('lets the MachineConfig whose name sorts later own a shared path', () => {
    const path = `${D}99-runtime`;
    const later = machineConfig('99-z', [{ path, text: dropIn('runc') }]);
    const earlier = machineConfig('99-a', [{ path, text: dropIn('crun') }]);
    expect(detectRunc([cm('x', later), cm('y', earlier)]).machineConfig).toEqual({
      configMap: 'x',
      object: 'MachineConfig/99-z',
      detail: `file ${path} [crio.runtime] default_runtime = "runc"`,
    });
    const laterCrun = machineConfig('99-z', [{ path, text: dropIn('crun') }]);
    const earlierRunc = machineConfig('99-a', [{ path, text: dropIn('runc') }]);
    expect(detectRunc([cm('x', laterCrun, earlierRunc)]).machineConfig).toBeUndefined();
  });

  it('ignores files outside /etc/crio/crio.conf.d/', () => {
    const files: File[] = [
      { path: '/etc/crio/crio.conf', text: dropIn('runc') },
      { path: '/etc/crio/crio.conf.d', text: dropIn('runc') },
      { path: '/etc/containers/crio.conf.d/99', text: dropIn('runc') },
    ];
    expect(detectRunc([cm('c', machineConfig('m', files))])).toEqual({ errors: [] });
  });

  it('reports broken TOML, bad data URLs and bad gzip with where, and skips them', () => {
    const mc = stringify({
      apiVersion: 'machineconfiguration.openshift.io/v1',
      kind: 'MachineConfig',
      metadata: { name: '99-broken' },
      spec: {
        config: {
          storage: {
            files: [
              { path: `${D}10-runc`, contents: dataUrl(dropIn('runc'), 'base64') },
              {
                path: `${D}20-toml`,
                contents: dataUrl('[crio.runtime\ndefault_runtime = "crun"', 'percent'),
              },
              { path: `${D}30-url`, contents: { source: 'https://example.com/crio.conf' } },
              { path: `${D}40-gzip`, contents: { source: 'data:,not-gzip', compression: 'gzip' } },
              { path: `${D}50-b64`, contents: { source: 'data:;base64,@@@' } },
              { path: `${D}60-utf8`, contents: { source: 'data:,%FF%FE' } },
              {
                path: `${D}70-type`,
                contents: dataUrl('[crio.runtime]\ndefault_runtime = 1', 'percent'),
              },
              { path: `${D}80-none` },
            ],
          },
        },
      },
    });
    const result = detectRunc([cm('pool-cfg', mc)]);
    expect(result.machineConfig?.detail).toBe(
      `file ${D}10-runc [crio.runtime] default_runtime = "runc"`,
    );
    const prefix = 'ConfigMap pool-cfg: MachineConfig 99-broken: file /etc/crio/crio.conf.d/';
    expect(result.errors).toEqual([
      expect.stringMatching(
        new RegExp(`^${prefix}20-toml: invalid TOML at line 1, column \\d+: .*; skipped$`),
      ),
      `${prefix}30-url: contents.source is not a data URL, so it cannot be read before the node does; skipped`,
      expect.stringMatching(
        new RegExp(`^${prefix}40-gzip: contents are not valid gzip: .*; skipped$`),
      ),
      `${prefix}50-b64: contents.source is not a valid data URL; skipped`,
      `${prefix}60-utf8: contents are not valid UTF-8 text; skipped`,
      `${prefix}70-type: [crio.runtime] default_runtime is not a string; skipped`,
    ]);
  });

  it('reports both paths when both set runc', () => {
    const result = detectRunc([
      cm(
        'a',
        containerRuntimeConfig('crc', 'runc'),
        machineConfig('mc', [{ path: `${D}x`, text: dropIn('runc') }]),
      ),
    ]);
    expect(result.containerRuntimeConfig?.object).toBe('ContainerRuntimeConfig/crc');
    expect(result.machineConfig?.object).toBe('MachineConfig/mc');
  });

  it('passes YAML errors through with the ConfigMap name', () => {
    const result = detectRunc([cm('bad', 'kind: [\n')]);
    expect(result.errors).toEqual([
      expect.stringMatching(/^ConfigMap bad key config: line 2, column 1: /),
    ]);
  });

  it('is not fooled by __proto__ keys', () => {
    const text = [
      'apiVersion: machineconfiguration.openshift.io/v1',
      'kind: ContainerRuntimeConfig',
      'metadata: {name: p}',
      'spec:',
      '  __proto__: {containerRuntimeConfig: {defaultRuntime: runc}}',
      '',
    ].join('\n');
    const toml =
      '[__proto__]\ndefault_runtime = "runc"\n[crio.__proto__]\ndefault_runtime = "runc"\n';
    const result = detectRunc([cm('c', text, machineConfig('m', [{ path: `${D}p`, text: toml }]))]);
    expect(result).toEqual({ errors: [] });
  });
});

describe('detectRunc properties', () => {
  const runtimes = fc.constantFrom('', 'runc', 'crun', 'kata', 'runc ');
  const name = fc.string({
    unit: fc.constantFrom('a', 'B', '0', '-', '_', '.', 'é', '\u{1F600}', '\uFFFD'),
    minLength: 1,
    maxLength: 6,
  });
  const encoding = fc.constantFrom<Encoding>('percent', 'base64', 'gzip');

  it('equals "last non-empty runtime in byte-sorted path order is runc"', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ name, runtime: runtimes, encoding }), {
          selector: (f) => f.name,
          maxLength: 8,
        }),
        fc.integer({ min: 1, max: 3 }),
        (files, split) => {
          // Spread the files over several MachineConfigs and ConfigMaps: paths are all distinct.
          const docs = [0, 1, 2].map((i) =>
            machineConfig(
              `mc-${i}`,
              files
                .filter((_, j) => j % split === i)
                .map((f) => ({ path: D + f.name, text: dropIn(f.runtime), encoding: f.encoding })),
            ),
          );
          const sorted = [...files].sort((a, b) => compareBytes(a.name, b.name));
          const last = sorted.filter((f) => f.runtime !== '').at(-1);
          const result = detectRunc([
            cm('a', docs[0] ?? ''),
            cm('b', docs[1] ?? '', docs[2] ?? ''),
          ]);
          expect(result.errors).toEqual([]);
          expect(result.machineConfig !== undefined).toBe(last?.runtime === 'runc');
          if (result.machineConfig)
            expect(result.machineConfig.detail).toContain(D + (last?.name ?? ''));
        },
      ),
    );
  });

  it('never throws on arbitrary config strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect(detectRunc([cm('x', text)]).errors).toBeInstanceOf(Array);
      }),
    );
  });

  it('never throws on arbitrary YAML, including MachineConfig-shaped garbage', () => {
    const garbage = fc.anything({ withNullPrototype: true, withBigInt: false });
    const mcLike = fc.record({
      apiVersion: fc.constant('machineconfiguration.openshift.io/v1'),
      kind: fc.constantFrom('MachineConfig', 'ContainerRuntimeConfig'),
      metadata: fc.oneof(garbage, fc.record({ name: fc.string() })),
      spec: fc.oneof(
        garbage,
        fc.record({
          containerRuntimeConfig: fc.oneof(garbage, fc.record({ defaultRuntime: garbage })),
          config: fc.record({
            storage: fc.record({
              files: fc.array(
                fc.record({
                  path: fc.oneof(
                    garbage,
                    fc.string().map((s) => D + s),
                  ),
                  contents: fc.oneof(
                    garbage,
                    fc.record({
                      source: fc.oneof(
                        garbage,
                        fc.string().map((s) => `data:,${s}`),
                      ),
                      compression: fc.oneof(garbage, fc.constant('gzip')),
                    }),
                  ),
                }),
              ),
            }),
          }),
        }),
      ),
    });
    fc.assert(
      fc.property(fc.array(fc.oneof(garbage, mcLike), { maxLength: 4 }), (docs) => {
        const text = docs.map((d) => stringify(d)).join('---\n');
        expect(() => detectRunc([cm('x', text)])).not.toThrow();
      }),
    );
  });

  it('never throws on ConfigMaps with non-string data', () => {
    const bad = [
      { name: 'x', data: { config: 42 } },
      { name: 'y', data: null },
    ] as unknown as Parameters<typeof detectRunc>[0];
    expect(detectRunc(bad).errors).toEqual(['ConfigMap x key config: not a string']);
  });
});
