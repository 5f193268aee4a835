import { describe, expect, it } from 'vitest';
import { embeddedCatalogDescription, loadEmbeddedCatalog } from './embedded.js';

describe('loadEmbeddedCatalog', () => {
  it('offers both installer streams, rhel-9 also as the legacy stream', () => {
    const catalog = loadEmbeddedCatalog();
    expect(catalog.streams).toEqual(['rhel-9', 'rhel-10']);
    expect(catalog.multiStream).toBe(true);
    expect(catalog.legacy).toBe(catalog.stream('rhel-9'));
    expect(catalog.stream('rhel-10')?.metadataStream).toBe('rhcos-4.22');
  });

  it('has 34 AWS regions per arch for both streams', () => {
    const catalog = loadEmbeddedCatalog();
    for (const stream of ['rhel-9', 'rhel-10']) {
      for (const arch of ['x86_64', 'aarch64']) {
        const regions = catalog.stream(stream)?.architectures.get(arch)?.awsRegions;
        expect(regions?.size, `${stream} ${arch}`).toBe(34);
        expect(regions?.has('us-gov-west-1')).toBe(true);
      }
    }
  });

  it('has the marketplace files merged in (rhel-10: Gen2 only)', () => {
    const catalog = loadEmbeddedCatalog();
    const rhel10 = catalog.stream('rhel-10')?.architectures.get('x86_64')?.azureNoPurchasePlan;
    expect(rhel10?.Gen2).toEqual({
      publisher: 'azureopenshift',
      offer: 'aro4',
      sku: 'aro_5-0_x64_gen2',
      version: '10.2.20260423',
    });
    expect(rhel10?.Gen1).toBeUndefined();
    const rhel9 = catalog.stream('rhel-9')?.architectures.get('x86_64')?.azureNoPurchasePlan;
    expect(rhel9?.Gen1?.sku).toBe('aro_420');
  });

  it('is loaded once', () => {
    expect(loadEmbeddedCatalog()).toBe(loadEmbeddedCatalog());
  });

  it('describes itself from the data', () => {
    expect(embeddedCatalogDescription()).toBe(
      'embedded catalog: installer coreos-rhel-9.json rhcos-4.21 9.8.20260403-0, ' +
        'coreos-rhel-10.json rhcos-4.22 10.2.20260405-0',
    );
  });
});
