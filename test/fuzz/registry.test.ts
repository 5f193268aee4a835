// CI size of the registry response fuzzer (a scripted registry on loopback, the real client).
import { expect, it } from 'vitest';
import { fuzzRegistry } from './registry.js';
import { ciRun, formatReport } from './support/run.js';

it('readRelease returns a release or a RegistryError/ReleaseError for 2,000 fuzzed registries', async () => {
  const report = await fuzzRegistry(ciRun(2_000));
  console.log(formatReport(report));
  expect(report.outcomes.loaded).toBeGreaterThan(200);
  expect(report.outcomes.RegistryError).toBeGreaterThan(200);
  expect(report.outcomes.ReleaseError).toBeGreaterThan(100);
}, 120_000);
