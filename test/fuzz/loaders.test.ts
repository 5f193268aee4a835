// CI size of the loader fuzzers: policy files, state directories, boot image metadata.
import { expect, it } from 'vitest';
import { fuzzMetadata } from './metadata.js';
import { fuzzPolicy } from './policy.js';
import { fuzzState } from './state.js';
import { ciRun, formatReport } from './support/run.js';

it('policy files load or fail with a PolicyError naming the file (3,000 cases)', async () => {
  const report = await fuzzPolicy(ciRun(3_000));
  console.log(formatReport(report));
  expect(report.outcomes.loaded).toBeGreaterThan(100);
  expect(report.outcomes.PolicyError).toBeGreaterThan(1_000);
}, 120_000);

it('boot image metadata parses or fails with a CatalogError naming where (3,000 cases)', async () => {
  const report = await fuzzMetadata(ciRun(3_000));
  console.log(formatReport(report));
  expect(report.outcomes.loaded).toBeGreaterThan(100);
  expect(report.outcomes.CatalogError).toBeGreaterThan(1_000);
}, 120_000);

it('state directories load or fail with a StateError naming the file (1,000 cases)', async () => {
  const report = await fuzzState(ciRun(1_000));
  console.log(formatReport(report));
  expect(report.outcomes.loaded).toBeGreaterThan(100);
  expect(report.outcomes.StateError).toBeGreaterThan(300);
}, 120_000);
