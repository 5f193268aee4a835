// Turns a rule's observation into a finding under the policy (and an honoured exemption).
import { CONFIGURABLE_RULES, type ConfigurableRule, type Policy } from '../policy/types.js';
import type { Observation } from './rules/types.js';
import type { Finding, RuleId, Severity } from './types.js';

export function severityOf(observation: Observation, policy: Policy): Severity | 'off' {
  if (observation.forced) return observation.forced;
  const rule = observation.rule;
  if (rule === 'runtime') return 'deny';
  if (rule === 'no-downgrade') return observation.replacePool ? policy.noDowngradeReplace : 'deny';
  if (rule === 'context' || rule === 'catalog') return policy.onMissingContext;
  if (isConfigurable(rule)) return policy.actions[rule];
  return 'warn';
}

function isConfigurable(rule: RuleId): rule is ConfigurableRule {
  return (CONFIGURABLE_RULES as readonly string[]).includes(rule);
}

export function toFindings(
  observations: readonly Observation[],
  policy: Policy,
  exempted: ReadonlySet<RuleId>,
  subject: string,
): Finding[] {
  const findings: Finding[] = [];
  for (const observation of observations) {
    const severity = severityOf(observation, policy);
    if (severity === 'off') continue;
    if (severity === 'deny' && !observation.forced && exempted.has(observation.rule)) {
      findings.push({
        rule: observation.rule,
        severity: 'warn',
        message: `(exempted) ${observation.message}`,
        summary: `(exempted) ${observation.summary}`,
        subject,
      });
      continue;
    }
    findings.push({
      rule: observation.rule,
      severity,
      message: observation.message,
      summary: observation.summary,
      subject,
    });
  }
  return findings;
}
