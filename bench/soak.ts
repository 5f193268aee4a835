// npm run soak [-- --duration 5m --rate N --interval 30s --connections 8]
// The built `streamguard serve` (bin/streamguard.js, examples/state, self-signed TLS, info logs to
// /dev/null) in its own process. First its saturation: a closed loop at `--connections` for 10 s.
// Then an open loop at 80 % of it (or `--rate`) for `--duration`, every example request for both
// webhooks in turn, every answer compared with the engine's own answer for that request. Prints,
// per interval, the rate, p50/p99 (from each request's due time) and the server's RSS, then the
// verdict; exits 1 when it fails:
//   errors        must be 0;
//   p99 steady    the median p99 of the last third of the intervals at most twice that of the first
//                 third (plus 5 ms for timer noise): a leak or a growing queue shows as a p99 that
//                 climbs and stays up, while one interval's stall (a neighbour on a shared machine,
//                 a major GC) does not fail it; the first and last intervals are printed too;
//   RSS growth    from the end of the warm-up (20 s at the rate) to the end, under 10 %.
// The load runs in this process (node:https, as the API server's client keeps connections), so
// on a small machine the client's CPU takes from the server's: saturation is a floor.
import {
  LoadClient,
  mixFor,
  ms,
  offlineContext,
  openLoop,
  REPO_ROOT,
  saturation,
} from '../test/reliability/support/load.js';
import { spawnServe } from '../test/reliability/support/serve.js';

function seconds(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(value);
  if (!m) throw new Error(`${flag} ${value}: expected seconds, or minutes as 5m`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

function parseArgs(argv: string[]) {
  const opts = {
    duration: 300,
    rate: undefined as number | undefined,
    interval: 30,
    connections: 8,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag}: missing value`);
    i++;
    if (flag === '--duration') opts.duration = seconds(flag, value);
    else if (flag === '--interval') opts.interval = seconds(flag, value);
    else if (flag === '--rate' || flag === '--connections') {
      const n = Number(value);
      if (!(Number.isFinite(n) && n > 0 && n <= 100_000)) {
        throw new Error(`${flag} ${value}: expected a number in (0, 100000]`);
      }
      if (flag === '--rate') opts.rate = n;
      else opts.connections = Math.floor(n);
    } else throw new Error(`unknown flag ${flag} (--duration, --rate, --interval, --connections)`);
  }
  if (opts.duration < 10) throw new Error('--duration: at least 10 s');
  if (opts.interval < 1 || opts.interval > opts.duration) {
    throw new Error('--interval: at least 1 s and at most --duration');
  }
  return opts;
}

const WARMUP_SECONDS = 20;
const SATURATION_SECONDS = 10;
const MiB = 2 ** 20;
const opts = parseArgs(process.argv.slice(2));

const server = await spawnServe({
  built: true,
  args: ['--state', 'examples/state', '--log-level', 'info'],
});
process.once('SIGINT', () => void server.close().then(() => process.exit(130)));
const context = await offlineContext(`${REPO_ROOT}examples/state`);
const client = new LoadClient(server.port, server.ca, mixFor([context]), opts.connections);
let failed = 0;
try {
  const sat = await saturation(client, SATURATION_SECONDS);
  failed += sat.figures.failed;
  const rate = opts.rate ?? Math.floor(sat.perSecond * 0.8);
  console.log(
    `saturation (closed loop, ${opts.connections} connections, ${SATURATION_SECONDS} s): ` +
      `${sat.perSecond.toFixed(0)} req/s, p50 ${ms(sat.figures.p50)}, p99 ${ms(sat.figures.p99)}`,
  );
  console.log(
    `open loop at ${rate} req/s (${opts.rate ? 'given' : '80 % of saturation'}), ` +
      `${opts.duration} s after ${WARMUP_SECONDS} s of warm-up`,
  );
  await openLoop(client, rate, WARMUP_SECONDS);
  failed += client.take().failed;
  const rssStart = server.rss();
  const rows: { p99: number; failed: number }[] = [];
  let elapsed = 0;
  const report = () => {
    const f = client.take();
    elapsed += f.seconds;
    failed += f.failed;
    rows.push(f);
    console.log(
      `${elapsed.toFixed(0).padStart(5)} s  ${f.rate.toFixed(0).padStart(6)} req/s  ` +
        `p50 ${ms(f.p50).padStart(9)}  p99 ${ms(f.p99).padStart(9)}  max ${ms(f.max).padStart(9)}  ` +
        `failed ${f.failed}  new connections ${f.opened}  RSS ${(server.rss() / MiB).toFixed(1)} MiB`,
    );
  };
  const endAt = performance.now() + opts.duration * 1000;
  let next = performance.now() + opts.interval * 1000;
  await openLoop(client, rate, opts.duration, () => {
    // The last interval is reported after the loop, so it is never a stub of a few ms.
    if (performance.now() < next || next > endAt - 1000) return;
    next += opts.interval * 1000;
    report();
  });
  report();
  const rssEnd = server.rss();
  const first = rows[0]?.p99 ?? NaN;
  const last = rows.at(-1)?.p99 ?? NaN;
  const third = Math.max(1, Math.floor(rows.length / 3));
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)] ?? NaN;
  const early = median(rows.slice(0, third).map((r) => r.p99));
  const late = median(rows.slice(-third).map((r) => r.p99));
  const steady = late <= 2 * early + 5;
  const growth = rssEnd / rssStart - 1;
  console.log(`verdict:`);
  console.log(`  errors      ${failed} ${failed === 0 ? 'ok' : 'FAIL'}`);
  for (const f of client.failures.slice(0, 5)) console.log(`              ${f.slice(0, 300)}`);
  console.log(
    `  p99 steady  median of the first ${third} intervals ${ms(early)}, of the last ${third} ` +
      `${ms(late)} (bound 2 x first + 5 ms) ${steady ? 'ok' : 'FAIL'}; ` +
      `first interval ${ms(first)}, last ${ms(last)}`,
  );
  console.log(
    `  RSS growth  ${(rssStart / MiB).toFixed(1)} -> ${(rssEnd / MiB).toFixed(1)} MiB ` +
      `(${(growth * 100).toFixed(1)} %, bound 10 %) ${growth < 0.1 ? 'ok' : 'FAIL'}`,
  );
  process.exitCode = failed === 0 && steady && growth < 0.1 ? 0 : 1;
} finally {
  client.close();
  await server.close();
}
