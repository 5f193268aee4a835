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
  return text.length <= WARNING_LIMIT ? text : `${text.slice(0, WARNING_LIMIT - 1)}…`;
}

function oneLine(text: string): string {
  // Control characters would be dropped or rejected by the API server's warning handling.
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
