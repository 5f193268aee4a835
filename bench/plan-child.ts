// Child process of bench/plan.bench.ts: runs `streamguard plan` in-process (the real CLI code,
// arguments from the command line) and writes its exit code, wall time and peak RSS as JSON to the
// file named by the first argument. A process of its own, so the RSS is the planner's alone.
import { writeFileSync } from 'node:fs';
import { main } from '../src/cli/main.js';

const [resultFile, ...args] = process.argv.slice(2);
if (resultFile === undefined) throw new Error('usage: plan-child.ts RESULT_FILE [plan arguments]');

const rssBefore = process.memoryUsage().rss;
let peakSampled = rssBefore;
const timer = setInterval(() => {
  peakSampled = Math.max(peakSampled, process.memoryUsage().rss);
}, 5);
const started = performance.now();
const code = await main(['node', 'streamguard', ...args]);
const wallMs = performance.now() - started;
clearInterval(timer);
peakSampled = Math.max(peakSampled, process.memoryUsage().rss);
writeFileSync(
  resultFile,
  JSON.stringify({
    code,
    wallMs,
    rssBefore,
    peakSampled,
    // Peak RSS of the whole process (node + tsx + the plan), as the kernel counts it.
    maxRss: process.resourceUsage().maxRSS * 1024,
  }),
);
