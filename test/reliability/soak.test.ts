// The short soak CI runs (npm run soak is the long one): `streamguard serve` in its own process,
// an open loop at a moderate fixed rate over keep-alive TLS with every example request for both
// webhooks, each answer compared with the engine's. Asserts zero failures and bounded RSS growth
// after warm-up; latency is printed, never asserted (machines are noisy).
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  LoadClient,
  mixFor,
  ms,
  offlineContext,
  openLoop,
  REPO_ROOT,
  type Figures,
} from './support/load.js';
import { spawnServe, type ServeProcess } from './support/serve.js';

const SECONDS = Number(process.env.SOAK_CI_SECONDS ?? 24);
const RATE = Number(process.env.SOAK_CI_RATE ?? 150);
const WARMUP_SECONDS = 4;
const INTERVAL_SECONDS = 5;
/** RSS may grow this much from after warm-up to the end (the bound). */
const RSS_GROWTH = 0.1;

let server: ServeProcess;
beforeAll(async () => {
  server = await spawnServe({ args: ['--state', 'examples/state', '--log-level', 'info'] });
});
afterAll(async () => {
  await server?.close();
});

it(`holds ${RATE} req/s for ${SECONDS} s: no failed request, RSS growth under 10 %`, async () => {
  const context = await offlineContext(`${REPO_ROOT}examples/state`);
  const client = new LoadClient(server.port, server.ca, mixFor([context]), 8);
  try {
    await openLoop(client, RATE, WARMUP_SECONDS);
    const warm = client.take();
    const rssStart = server.rss();
    const intervals: (Figures & { rss: number })[] = [];
    const endAt = performance.now() + SECONDS * 1000;
    let next = performance.now() + INTERVAL_SECONDS * 1000;
    await openLoop(client, RATE, SECONDS, () => {
      // The last interval is reported after the loop, so it is never a stub of a few ms.
      if (performance.now() < next || next > endAt - 1000) return;
      next += INTERVAL_SECONDS * 1000;
      intervals.push({ ...client.take(), rss: server.rss() });
    });
    intervals.push({ ...client.take(), rss: server.rss() });
    const rssEnd = server.rss();
    for (const f of intervals) {
      console.log(
        `soak ${f.seconds.toFixed(1)} s: ${f.ok}/${f.sent} ok, ${f.rate.toFixed(0)} req/s, ` +
          `p50 ${ms(f.p50)}, p99 ${ms(f.p99)}, new connections ${f.opened}, ` +
          `RSS ${(f.rss / 2 ** 20).toFixed(1)} MiB`,
      );
    }
    const growth = rssEnd / rssStart - 1;
    console.log(
      `soak verdict: ${intervals.reduce((n, f) => n + f.failed, 0) + warm.failed} failed; ` +
        `RSS ${(rssStart / 2 ** 20).toFixed(1)} -> ${(rssEnd / 2 ** 20).toFixed(1)} MiB ` +
        `(${(growth * 100).toFixed(1)} %)`,
    );
    expect(client.failures).toEqual([]);
    expect(warm.failed + intervals.reduce((n, f) => n + f.failed, 0)).toBe(0);
    // Every scheduled request was answered: the open loop is not silently short.
    expect(intervals.reduce((n, f) => n + f.ok, 0)).toBe(Math.floor(RATE * SECONDS));
    expect(growth).toBeLessThan(RSS_GROWTH);
  } finally {
    client.close();
  }
}, 120_000);
