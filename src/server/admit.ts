// One AdmissionReview body in, one response body out: the webhook's request path, apart from
// HTTP. It reads only in-memory context, never waits on a rate limiter, and when context cannot
// be had before the deadline it decides on what the request itself carries.
import { AdmissionInputError } from '../admission/errors.js';
import { parseAdmissionReviewBytes } from '../admission/parse.js';
import { admissionResponse } from '../admission/response.js';
import { decide, type Webhook } from '../engine/decide.js';
import type { AdmissionRequestLike, Decision, DecisionContext, Finding } from '../engine/types.js';
import type { Policy } from '../policy/types.js';
import { ClusterState } from '../state/index.js';
import { StateReleaseCatalog } from '../state/releases.js';
import type { ContextSource } from './context-source.js';

export interface Admitted {
  status: 200;
  body: string;
  request: AdmissionRequestLike;
  decision: Decision;
  /** Set when the decision was made without full context. */
  fallback?: string;
}

export interface Rejected {
  status: 400;
  body: string;
  error: string;
}

export async function admit(
  bytes: Uint8Array,
  webhook: Webhook,
  source: ContextSource,
  deadlineMs: number,
): Promise<Admitted | Rejected> {
  const now = source.current();
  if (now) return admitWith(bytes, webhook, now);
  const { context, fallback } = await contextWithin(source, deadlineMs);
  return admitWith(bytes, webhook, context, fallback);
}

/** A parsed request whose decision waits for context being fetched (see ContextSource.pendingFor). */
export interface Deferred {
  status: 'wait';
  request: AdmissionRequestLike;
  wait: Promise<unknown>;
}

/**
 * Like admitWith, but when the source says something the request needs is still being fetched
 * (a release's data), returns that wait instead of deciding on a fallback at once.
 */
export function admitOrDefer(
  bytes: Uint8Array,
  webhook: Webhook,
  context: DecisionContext,
  source: ContextSource,
): Admitted | Rejected | Deferred {
  if (!source.pendingFor) return admitWith(bytes, webhook, context);
  const request = parseRequest(bytes);
  if ('error' in request) return request;
  const wait = source.pendingFor(request);
  if (wait) return { status: 'wait', request, wait };
  return decideRequest(request, webhook, context);
}

/** Decides a deferred request once its wait settles or the deadline passes, whichever is first. */
export async function admitDeferred(
  deferred: Deferred,
  webhook: Webhook,
  source: ContextSource,
  deadlineMs: number,
): Promise<Admitted> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, deadlineMs, 'late');
  });
  const settled = await Promise.race([
    deferred.wait.then(
      () => 'done' as const,
      () => 'done' as const,
    ),
    late,
  ]);
  clearTimeout(timer);
  const context = source.current() ?? emptyContext(source.policy());
  const fallback =
    settled === 'late'
      ? `release data was still being fetched at the ${deadlineMs} ms deadline`
      : undefined;
  return decideRequest(deferred.request, webhook, context, fallback);
}

/**
 * The decision itself, synchronous: with the context in memory (the usual case) the handler
 * answers in the same tick the body arrived, with no promise hops.
 */
export function admitWith(
  bytes: Uint8Array,
  webhook: Webhook,
  context: DecisionContext,
  fallback?: string,
): Admitted | Rejected {
  const request = parseRequest(bytes);
  if ('error' in request) return request;
  return decideRequest(request, webhook, context, fallback);
}

function parseRequest(bytes: Uint8Array): AdmissionRequestLike | Rejected {
  try {
    return parseAdmissionReviewBytes(bytes, 'AdmissionReview');
  } catch (err) {
    if (!(err instanceof AdmissionInputError)) throw err;
    return { status: 400, body: statusBody(400, err.message), error: err.message };
  }
}

function decideRequest(
  request: AdmissionRequestLike,
  webhook: Webhook,
  context: DecisionContext,
  fallback?: string,
): Admitted {
  let decision = decide(request, context, webhook);
  if (fallback) decision = withContextFinding(decision, fallback, context.policy, webhook);
  return {
    status: 200,
    body: JSON.stringify(admissionResponse(request.uid, decision)),
    request,
    decision,
    ...(fallback ? { fallback } : {}),
  };
}

async function contextWithin(
  source: ContextSource,
  deadlineMs: number,
): Promise<{ context: DecisionContext; fallback?: string }> {
  const now = source.current();
  if (now) return { context: now };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, deadlineMs, undefined);
  });
  const context = await Promise.race([source.ready(), late]);
  clearTimeout(timer);
  if (context) return { context };
  return {
    context: emptyContext(source.policy()),
    fallback: `cluster context was not available within the ${deadlineMs} ms deadline`,
  };
}

/**
 * With no cluster state, the engine still sees the request's own objects, release tags and the
 * embedded catalog — enough to keep the safety rules (an InPlace pool on rhel-10) in force.
 */
function emptyContext(policy: Policy): DecisionContext {
  return { policy, releases: new StateReleaseCatalog(), cluster: new ClusterState() };
}

function withContextFinding(
  decision: Decision,
  why: string,
  policy: Policy,
  webhook: Webhook,
): Decision {
  // The mutating webhook never denies: its note is always a warning.
  const severity = webhook === 'mutate' ? 'warn' : policy.onMissingContext;
  const finding: Finding = {
    rule: 'context',
    severity,
    message: `${why}; decided on the request alone (policy onMissingContext: ${policy.onMissingContext})`,
    summary: 'cluster context unavailable before the deadline; decided on the request alone',
  };
  const findings = [...decision.findings, finding];
  return { ...decision, allowed: decision.allowed && severity !== 'deny', findings };
}

/** A Kubernetes Status object: what API clients expect in an error body. */
export function statusBody(code: number, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code });
}
