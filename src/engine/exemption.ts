// The exemption annotation: `streamguard.io/exempt: rule-a,rule-b` with a reason, honoured only
// for the users and groups the policy names, and always reported.
import { shorten } from './text.js';
import { annotation, type NodePool } from '../k8s/objects.js';
import type { Policy } from '../policy/types.js';
import type { Observation } from './rules/types.js';
import { ANNOTATIONS, RULE_IDS, type RuleId, type UserInfo } from './types.js';

/**
 * Rule ids no annotation can lift: RHEL 10 ships no runc, and the notes about missing context
 * and exemptions themselves must always be seen. (An InPlace downgrade is a forced deny, which
 * exemptions never touch either.)
 */
const NEVER_EXEMPT: ReadonlySet<string> = new Set(['runtime', 'context', 'catalog', 'exemption']);

export interface Exemption {
  rules: ReadonlySet<RuleId>;
  reason: string;
  notes: Observation[];
}

export function evaluateExemption(
  pool: NodePool,
  key: string,
  user: UserInfo | undefined,
  policy: Policy,
): Exemption | undefined {
  const value = annotation(pool, ANNOTATIONS.exempt);
  if (value === undefined) return undefined;
  const reason = (annotation(pool, ANNOTATIONS.exemptReason) ?? '').trim();
  const requested = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const notes: Observation[] = [];
  const unknown = requested.filter((r) => !(RULE_IDS as readonly string[]).includes(r));
  const fixed = requested.filter((r) => NEVER_EXEMPT.has(r));
  if (unknown.length > 0 || fixed.length > 0) {
    const parts = [];
    if (unknown.length > 0) parts.push(`unknown rule ids ${unknown.join(', ')}`);
    if (fixed.length > 0) parts.push(`${fixed.join(', ')} cannot be exempted`);
    notes.push(note(`${ANNOTATIONS.exempt} on NodePool ${key}: ${parts.join('; ')}`));
  }
  const rules = new Set(
    requested.filter(
      (r): r is RuleId => (RULE_IDS as readonly string[]).includes(r) && !NEVER_EXEMPT.has(r),
    ),
  );
  const who = user?.username ?? '(unknown user)';
  const allowed =
    (user?.username !== undefined && policy.exemptions.users.includes(user.username)) ||
    (user?.groups ?? []).some((g) => policy.exemptions.groups.includes(g));
  if (!allowed || reason === '') {
    const why = !allowed
      ? `user ${who} is not allowed to use exemptions by policy ${policy.source}`
      : `${ANNOTATIONS.exemptReason} is missing`;
    notes.push(
      note(
        `exemption of NodePool ${key} from ${[...rules].join(', ') || 'no rules'} ignored: ${why}`,
      ),
    );
    return { rules: new Set(), reason, notes };
  }
  if (rules.size > 0) {
    notes.push({
      rule: 'exemption',
      message: `NodePool ${key} is exempt from ${[...rules].join(', ')} by ${who} (reason: ${reason})`,
      summary: shorten(`exempt from ${[...rules].join(', ')} by ${who}`, 100),
      forced: 'warn',
    });
  }
  return { rules, reason, notes };
}

function note(message: string): Observation {
  return { rule: 'exemption', message, summary: shorten(message, 100) };
}
