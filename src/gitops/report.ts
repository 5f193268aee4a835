// Renders check results for a person (text) and for CI (JSON, JUnit XML).
import type { Finding } from '../engine/types.js';
import type { CheckResult } from './evaluate.js';

/** Mutations the API server would apply: worth showing, never a reason to fail a pipeline. */
const MUTATIONS = new Set(['pin-on-create', 'sticky-default']);

export function isNote(f: Finding): boolean {
  return MUTATIONS.has(f.rule);
}

export interface Summary {
  checked: number;
  denied: number;
  warned: number;
  clean: number;
}

export function summarize(results: readonly CheckResult[]): Summary {
  let denied = 0;
  let warned = 0;
  for (const r of results) {
    if (!r.allowed) denied++;
    else if (r.findings.some((f) => f.severity === 'warn' && !isNote(f))) warned++;
  }
  return { checked: results.length, denied, warned, clean: results.length - denied - warned };
}

function label(f: Finding): string {
  if (isNote(f)) return 'MUTATE';
  return f.severity === 'deny' ? 'DENY' : 'WARN';
}

export function renderText(results: readonly CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const verdict = !r.allowed
      ? 'denied'
      : r.findings.some((f) => !isNote(f))
        ? 'allowed with warnings'
        : 'allowed';
    const old = r.oldFrom === 'none' ? 'new' : `old object from ${r.oldFrom}`;
    const via = r.via ? `, changed through ${r.via}` : '';
    lines.push(
      `${r.source}: NodePool ${r.namespace}/${r.name} ${r.operation} (${old}${via}): ${verdict}`,
    );
    for (const f of r.findings) lines.push(`  ${label(f)} [${f.rule}] ${f.message}`);
  }
  const s = summarize(results);
  if (results.length === 0) lines.push('no NodePools in the change (nothing to check)');
  else
    lines.push(
      `${s.checked} NodePool${s.checked === 1 ? '' : 's'} checked: ${s.denied} denied, ${s.warned} with warnings, ${s.clean} clean`,
    );
  return `${lines.join('\n')}\n`;
}

export function renderJson(results: readonly CheckResult[], exitCode: number): string {
  const report = {
    apiVersion: 'streamguard.io/v1alpha1',
    kind: 'CheckReport',
    summary: { ...summarize(results), exitCode },
    results: results.map((r) => ({
      ...r,
      findings: r.findings.map((f) => ({
        rule: f.rule,
        severity: isNote(f) ? 'mutate' : f.severity,
        message: f.message,
      })),
    })),
  };
  return `${JSON.stringify(report, null, 2)}\n`;
}

export function renderJunit(results: readonly CheckResult[], failOnWarn: boolean): string {
  const bySource = new Map<string, CheckResult[]>();
  for (const r of results) {
    const file = r.source.replace(/#\d+$/, '');
    bySource.set(file, [...(bySource.get(file) ?? []), r]);
  }
  const failing = (r: CheckResult) =>
    r.findings.filter(
      (f) => f.severity === 'deny' || (failOnWarn && f.severity === 'warn' && !isNote(f)),
    );
  const suites: string[] = [];
  let failures = 0;
  for (const [file, group] of bySource) {
    const cases = group.map((r) => {
      const bad = failing(r);
      const name = `NodePool ${r.namespace}/${r.name} ${r.operation}`;
      const out = r.findings.map((f) => `${label(f)} [${f.rule}] ${f.message}`).join('\n');
      if (bad.length === 0) {
        return `    <testcase classname="${xml(file)}" name="${xml(name)}">${out ? `<system-out>${xml(out)}</system-out>` : ''}</testcase>`;
      }
      const message = bad.map((f) => `[${f.rule}] ${f.summary}`).join('; ');
      return `    <testcase classname="${xml(file)}" name="${xml(name)}"><failure type="${bad.some((f) => f.severity === 'deny') ? 'denied' : 'warned'}" message="${xml(message)}">${xml(out)}</failure></testcase>`;
    });
    const suiteFailures = group.filter((r) => failing(r).length > 0).length;
    failures += suiteFailures;
    suites.push(
      `  <testsuite name="${xml(file)}" tests="${group.length}" failures="${suiteFailures}" errors="0">\n${cases.join('\n')}\n  </testsuite>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="streamguard check" tests="${results.length}" failures="${failures}" errors="0">\n${suites.join('\n')}${suites.length ? '\n' : ''}</testsuites>\n`;
}

// XML 1.0 forbids most control characters even when escaped.
// eslint-disable-next-line no-control-regex
const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

function xml(text: string): string {
  return text.replace(XML_FORBIDDEN, ' ').replace(/[<>&"']/g, (c) => ENTITIES[c] ?? c);
}

const ENTITIES: Record<string, string> = {
  '<': '&lt;',
  '>': '&gt;',
  '&': '&amp;',
  '"': '&quot;',
  "'": '&apos;',
};
