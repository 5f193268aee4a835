// Dynamic admission as the API server runs it, for the writes that come through the API: the
// mutating webhooks first (their JSONPatch applied), then schema validation, then the validating
// webhooks on the final object, before anything is stored. A webhook is called when a rule
// matches (groups, versions, operations, resources with subresources, scope), its
// namespaceSelector and objectSelector match, and every matchCondition (CEL over object,
// oldObject and request) is true. A condition error, a failed call or a bad answer follows
// failurePolicy. Calls go to loopback URLs only, verified against the webhook's caBundle.
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { Environment } from '@marcbachmann/cel-js';
import fastJsonPatch from 'fast-json-patch';
import { Agent, request } from 'undici';
import { isRecord, type KubeObject, type ResourceType } from './resources.js';
import { ApiError, failure, type Status } from './status.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface ServiceRef {
  namespace: string;
  name: string;
  port: number;
  path: string;
}

/** One webhook call, for tests to see what admission did. */
export interface AdmissionRecord {
  webhook: string;
  operation: Operation;
  resource: string;
  namespace: string;
  name: string;
  /** allowed, denied, or the failure (then `ignored` says whether failurePolicy let it pass). */
  outcome: 'allowed' | 'denied' | 'failed';
  error?: string;
  ignored?: boolean;
}

export interface AdmissionOptions {
  /** The loopback URL behind a webhook's clientConfig.service (the cluster DNS this server lacks). */
  resolveService?: (service: ServiceRef) => string;
}

export interface AdmissionCall {
  type: ResourceType;
  version: string;
  subresource: string | undefined;
  operation: Operation;
  namespace: string;
  name: string;
  object: KubeObject | null;
  oldObject: KubeObject | null;
  dryRun: boolean;
  /** The namespace's labels (for namespaceSelector), undefined for cluster-scoped objects. */
  namespaceLabels: Record<string, string> | undefined;
}

/** What one webhook configuration object holds, as far as admission reads it. */
type Webhook = Record<string, unknown> & { name: string };

const cel = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });

/**
 * Runs the webhooks of `configurations` (all of one kind) for `call`. Mutating ones may return a
 * changed object; validating ones only allow or deny. Denials and Fail-policy errors throw
 * ApiError with the real API's messages; warnings are appended to `warnings`.
 */
export async function runWebhooks(
  configurations: KubeObject[],
  mutating: boolean,
  call: AdmissionCall,
  options: AdmissionOptions,
  warnings: string[],
  log: AdmissionRecord[],
): Promise<KubeObject | null> {
  let object = call.object;
  const resource = call.subresource ? `${call.type.plural}/${call.subresource}` : call.type.plural;
  for (const config of configurations) {
    const hooks = Array.isArray(config.webhooks) ? config.webhooks.filter(isRecord) : [];
    for (const hook of hooks as Webhook[]) {
      const current = { ...call, object };
      if (!matchesRules(hook, current) || !matchesSelectors(hook, current)) continue;
      const failClosed = hook.failurePolicy !== 'Ignore';
      let conditionsHold: boolean;
      try {
        conditionsHold = matchConditions(hook, current);
      } catch (err) {
        if (!failClosed) continue;
        throw callFailed(hook.name, err);
      }
      if (!conditionsHold) continue;
      const record = {
        webhook: hook.name,
        operation: call.operation,
        resource,
        namespace: call.namespace,
        name: call.name,
      };
      let response: Record<string, unknown>;
      try {
        response = await callWebhook(hook, current, options);
      } catch (err) {
        log.push({ ...record, outcome: 'failed', error: message(err), ignored: !failClosed });
        if (!failClosed) continue;
        throw callFailed(hook.name, err);
      }
      for (const w of Array.isArray(response.warnings) ? response.warnings : [])
        warnings.push(String(w));
      log.push({ ...record, outcome: response.allowed === true ? 'allowed' : 'denied' });
      if (response.allowed !== true) throw denied(hook.name, response.status);
      if (mutating && typeof response.patch === 'string' && object !== null) {
        const ops = JSON.parse(
          Buffer.from(response.patch, 'base64').toString('utf8'),
        ) as fastJsonPatch.Operation[];
        object = fastJsonPatch.applyPatch(structuredClone(object), ops, true, false).newDocument;
      }
    }
  }
  return object;
}

/** The API server's ToStatusErr: `admission webhook "x" denied the request: message`, code >= 400. */
function denied(name: string, raw: unknown): ApiError {
  const status = isRecord(raw) ? raw : {};
  const code = typeof status.code === 'number' && status.code >= 400 ? status.code : 400;
  const reason = typeof status.reason === 'string' ? status.reason : '';
  const text =
    typeof status.message === 'string' && status.message !== '' ? status.message : reason;
  const deniedBy = `admission webhook "${name}" denied the request`;
  const result: Status = failure(
    code,
    reason,
    text === '' ? `${deniedBy} without explanation` : `${deniedBy}: ${text}`,
  );
  if (reason === '') delete result.reason;
  if (isRecord(status.details)) result.details = status.details;
  return new ApiError(result);
}

function matchesRules(hook: Webhook, call: AdmissionCall): boolean {
  const rules = Array.isArray(hook.rules) ? hook.rules.filter(isRecord) : [];
  const resource = call.subresource ? `${call.type.plural}/${call.subresource}` : call.type.plural;
  return rules.some((rule) => {
    const has = (list: unknown, value: string) =>
      Array.isArray(list) && (list.includes('*') || list.includes(value));
    const resources = Array.isArray(rule.resources) ? (rule.resources as string[]) : [];
    const resourceOk = resources.some(
      (r) =>
        r === '*/*' ||
        r === resource ||
        (r === '*' && !call.subresource) ||
        (r.startsWith('*/') && call.subresource === r.slice(2)),
    );
    const scope = typeof rule.scope === 'string' ? rule.scope : '*';
    const scopeOk = scope === '*' || (scope === 'Namespaced') === call.type.namespaced;
    return (
      has(rule.apiGroups, call.type.group) &&
      has(rule.apiVersions, call.version) &&
      has(rule.operations, call.operation) &&
      resourceOk &&
      scopeOk
    );
  });
}

function matchesSelectors(hook: Webhook, call: AdmissionCall): boolean {
  const objectLabels = [call.object, call.oldObject].map(
    (o) => (o?.metadata?.labels ?? {}) as Record<string, string>,
  );
  if (!objectLabels.some((labels) => selectorMatches(hook.objectSelector, labels))) return false;
  if (call.type.group === '' && call.type.plural === 'namespaces') {
    return selectorMatches(hook.namespaceSelector, objectLabels[0] ?? objectLabels[1] ?? {});
  }
  return (
    call.namespaceLabels === undefined ||
    selectorMatches(hook.namespaceSelector, call.namespaceLabels)
  );
}

/** A metav1.LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist). */
export function selectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  if (!isRecord(selector)) return true;
  const matchLabels = isRecord(selector.matchLabels) ? selector.matchLabels : {};
  if (!Object.entries(matchLabels).every(([k, v]) => labels[k] === v)) return false;
  const expressions = Array.isArray(selector.matchExpressions)
    ? selector.matchExpressions.filter(isRecord)
    : [];
  return expressions.every((e) => {
    const value = labels[String(e.key)];
    const values = Array.isArray(e.values) ? e.values.map(String) : [];
    switch (e.operator) {
      case 'In':
        return value !== undefined && values.includes(value);
      case 'NotIn':
        return value === undefined || !values.includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        return false;
    }
  });
}

function matchConditions(hook: Webhook, call: AdmissionCall): boolean {
  const conditions = Array.isArray(hook.matchConditions)
    ? hook.matchConditions.filter(isRecord)
    : [];
  const vars = {
    object: call.object,
    oldObject: call.oldObject,
    request: admissionRequest(call, ''),
  };
  // All must be true; a false one wins over errors in others, as in the real evaluator.
  let error: unknown;
  for (const c of conditions) {
    try {
      if (cel.evaluate(String(c.expression), vars) !== true) return false;
    } catch (err) {
      error ??= new Error(`matchCondition ${String(c.name)}: ${message(err)}`);
    }
  }
  if (error !== undefined) throw error;
  return true;
}

function admissionRequest(call: AdmissionCall, uid: string): Record<string, unknown> {
  const { type, version } = call;
  const gvk = { group: type.group, version, kind: type.kind };
  const gvr = { group: type.group, version, resource: type.plural };
  const optionsKind = { CREATE: 'CreateOptions', UPDATE: 'UpdateOptions', DELETE: 'DeleteOptions' }[
    call.operation
  ];
  return {
    uid,
    kind: gvk,
    resource: gvr,
    ...(call.subresource ? { subResource: call.subresource } : {}),
    requestKind: gvk,
    requestResource: gvr,
    ...(call.subresource ? { requestSubResource: call.subresource } : {}),
    name: call.name,
    ...(type.namespaced ? { namespace: call.namespace } : {}),
    operation: call.operation,
    userInfo: { username: 'kube-api-test', groups: ['system:authenticated'] },
    object: call.object,
    oldObject: call.oldObject,
    dryRun: call.dryRun,
    options: { kind: optionsKind, apiVersion: 'meta.k8s.io/v1' },
  };
}

async function callWebhook(
  hook: Webhook,
  call: AdmissionCall,
  options: AdmissionOptions,
): Promise<Record<string, unknown>> {
  const client = isRecord(hook.clientConfig) ? hook.clientConfig : {};
  let url: string;
  if (typeof client.url === 'string') url = client.url;
  else if (isRecord(client.service) && options.resolveService) {
    const s = client.service;
    url = options.resolveService({
      namespace: String(s.namespace),
      name: String(s.name),
      port: typeof s.port === 'number' ? s.port : 443,
      path: typeof s.path === 'string' ? s.path : '/',
    });
  } else
    throw new Error(
      'no URL for the webhook service (start the server with admission.resolveService)',
    );
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (
    target.protocol !== 'https:' ||
    !(host === 'localhost' || (isIP(host) !== 0 && (host.startsWith('127.') || host === '::1')))
  ) {
    throw new Error(`refusing to call ${url}: webhooks are called over https on loopback only`);
  }
  const ca =
    typeof client.caBundle === 'string'
      ? Buffer.from(client.caBundle, 'base64').toString('utf8')
      : undefined;
  const timeoutMs = (typeof hook.timeoutSeconds === 'number' ? hook.timeoutSeconds : 10) * 1000;
  const dispatcher = new Agent({
    connect: { ...(ca ? { ca } : {}), timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const uid = randomUUID();
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        kind: 'AdmissionReview',
        apiVersion: 'admission.k8s.io/v1',
        request: admissionRequest(call, uid),
      }),
      dispatcher,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`the webhook answered HTTP ${res.statusCode}`);
    const review = JSON.parse(text) as { response?: Record<string, unknown> };
    if (!isRecord(review.response) || review.response.uid !== uid) {
      throw new Error('the webhook answered without a response for this request uid');
    }
    return review.response;
  } finally {
    await dispatcher.close();
  }
}

/** A fail-closed webhook that could not be asked (or whose conditions broke): the API's 500. */
function callFailed(webhook: string, err: unknown): ApiError {
  return new ApiError(
    failure(
      500,
      'InternalError',
      `Internal error occurred: failed calling webhook "${webhook}": ${message(err)}`,
    ),
  );
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
