#!/usr/bin/env node
// `npm run audit:prod`: `npm audit` of the production dependencies, reduced to one line.
//   clean                      exit 0: no high or critical advisory
//   findings: …                exit 1: high or critical advisories, by package
//   unverified: … (reason)     exit 0: the advisory service could not be asked (offline,
//                              refused, timed out); says so instead of passing for clean
// It never hangs: npm is killed after AUDIT_TIMEOUT_MS (default 60 000). Arguments are passed on
// to npm (e.g. `--registry <url>`).
import { spawn } from 'node:child_process';
import { clearTimeout, setTimeout } from 'node:timers';

const timeoutMs = Number(process.env.AUDIT_TIMEOUT_MS ?? 60_000);
if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
  console.error(
    `audit: AUDIT_TIMEOUT_MS must be a positive number of ms, got ${process.env.AUDIT_TIMEOUT_MS}`,
  );
  process.exit(2);
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const args = ['audit', '--omit=dev', '--audit-level=high', '--json', ...process.argv.slice(2)];

/** Runs npm; resolves with its output, or with `timedOut` once it has been killed. */
function run() {
  return new Promise((resolve) => {
    // Its own process group, so a timeout ends npm and anything it started.
    const child = spawn(npm, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: `${stderr}${err.message}`, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** A registry URL may carry credentials (`https://user:token@host/`): never print them. */
function redact(text) {
  return text.replace(/\/\/[^/@\s]+@/g, '//<redacted>@');
}

function firstLine(text) {
  const line = text
    .split('\n')
    .map((l) => l.replace(/^npm (error|ERR!|warn) /, '').trim())
    .find((l) => l !== '' && !/^Unknown user config/.test(l) && !/^A complete log/.test(l));
  return (line ?? 'no output').slice(0, 300);
}

const result = await run();
if (result.timedOut) {
  console.log(
    `unverified: advisory service unreachable (no answer within ${Math.round(timeoutMs / 1000)} s)`,
  );
  process.exit(0);
}

let report;
try {
  report = JSON.parse(result.stdout);
} catch {
  console.log(`unverified: advisory service unreachable (${redact(firstLine(result.stderr))})`);
  process.exit(0);
}

if (report.error) {
  // npm 10: { message, error: { code?, summary, detail } }; older npm: { error: { code, summary } }.
  const { code, summary, detail } = report.error;
  const text = [summary, detail, report.message].find((t) => typeof t === 'string' && t !== '');
  const reason = [code, firstLine(text ?? result.stderr)].filter(Boolean).join(': ');
  console.log(`unverified: advisory service unreachable (${redact(reason)})`);
  process.exit(0);
}

const counts = report.metadata?.vulnerabilities;
if (!counts || typeof report.vulnerabilities !== 'object') {
  console.log('unverified: npm audit gave no report (unexpected JSON from npm)');
  process.exit(0);
}
const serious = Object.values(report.vulnerabilities)
  .filter((v) => v.severity === 'high' || v.severity === 'critical')
  .map((v) => `${v.name} (${v.severity}${v.isDirect ? ', direct' : ''})`)
  .sort();
const lower = ['moderate', 'low', 'info']
  .filter((s) => counts[s] > 0)
  .map((s) => `${counts[s]} ${s}`)
  .join(', ');
if (serious.length > 0) {
  console.log(
    `findings: ${counts.critical ?? 0} critical, ${counts.high ?? 0} high in production dependencies: ${serious.join(', ')}`,
  );
  process.exit(1);
}
console.log(`clean${lower ? ` (no high or critical; ${lower})` : ''}`);
