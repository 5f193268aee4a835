// CI size of the registry response fuzzer (a scripted registry on loopback, the real client).
import { expect, it } from 'vitest';
import { fuzzRegistry } from './registry.js';
import { ciRun, formatReport } from './support/run.js';

it('readRelease returns a release or a RegistryError/ReleaseError for 500 fuzzed registries', async () => {
  const report = await fuzzRegistry(ciRun(500));
  console.log(formatReport(report));
  expect(report.outcomes.loaded).toBeGreaterThan(50);
  expect(report.outcomes.RegistryError).toBeGreaterThan(20);
  expect(report.outcomes.ReleaseError).toBeGreaterThan(20);
}, 120_000);
