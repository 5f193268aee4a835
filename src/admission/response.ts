// Builds the AdmissionReview v1 response. The webhook and `streamguard review` both print this
// object, so their outputs are byte-for-byte the same.
import type { Decision, Finding } from '../engine/types.js';

export const WARNING_LIMIT = 120;

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string };
  warnings?: string[];
  patchType?: 'JSONPatch';
  patch?: string;
  auditAnnotations?: { rules: string };
}

export interface AdmissionReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export function admissionResponse(uid: string, decision: Decision): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: decision.allowed };
  const denials = decision.findings.filter((f) => f.severity === 'deny');
  if (!decision.allowed) {
    response.status = { code: 403, message: denials.map(line).join('\n') };
  }
  const warnings = unique(decision.findings.filter((f) => f.severity === 'warn').map(warning));
  if (warnings.length > 0) response.warnings = warnings;
  if (decision.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(decision.patch)).toString('base64');
  }
  const rules = unique(decision.findings.map((f) => f.rule));
  if (rules.length > 0) response.auditAnnotations = { rules: rules.join(',') };
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

/** One line per denying finding, `[rule-id] message`, with no line breaks inside. */
function line(f: Finding): string {
  return `[${f.rule}] ${oneLine(f.message)}`;
}

function warning(f: Finding): string {
  const text = `[${f.rule}] ${oneLine(f.summary)}`;
  if (text.length <= WARNING_LIMIT) return text;
  // Never keep the first half of a surrogate pair (an emoji in a name) at the cut.
  const end = /[\ud800-\udbff]/.test(text.charAt(WARNING_LIMIT - 2))
    ? WARNING_LIMIT - 2
    : WARNING_LIMIT - 1;
  return `${text.slice(0, end)}…`;
}

function oneLine(text: string): string {
  // The API server rejects a warning holding a control character (Go's unicode.IsControl: C0,
  // DEL and C1); line and paragraph separators would break a line; a lone surrogate is not text.
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
  );
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
