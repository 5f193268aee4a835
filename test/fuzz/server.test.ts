// CI size of the webhook fuzzer (the long run: `npm run fuzz`).
import { expect, it } from 'vitest';
import { fuzzServer } from './server.js';
import { ciRun, formatReport } from './support/run.js';

it('the webhook answers 2,000 fuzzed requests with AdmissionReviews or 4xx Statuses, never a 5xx', async () => {
  const report = await fuzzServer(ciRun(2_000));
  console.log(formatReport(report));
  expect(report.cases).toBeGreaterThanOrEqual(2_000);
  // The generators must reach both ends: decisions and refusals.
  expect(report.outcomes['200']).toBeGreaterThan(200);
  expect(report.outcomes['400']).toBeGreaterThan(100);
}, 180_000);
