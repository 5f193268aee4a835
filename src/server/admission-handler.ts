// The hot path, POST /validate and /mutate, on bare node:http request/response objects. It stays
// outside express on purpose: measured on the webhook benchmark, express's router, request
// decoration and `res.send` cost about 100 µs per request and most of the garbage — more than
// TLS, parsing and deciding together. Health, readiness and metrics stay on express.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Webhook } from '../engine/decide.js';
import {
  admit,
  admitDeferred,
  admitOrDefer,
  statusBody,
  type Admitted,
  type Deferred,
  type Rejected,
} from './admit.js';
import type { ContextSource } from './context-source.js';
import type { Logger } from './logger.js';
import type { Outcome, WebhookMetrics } from './metrics.js';

/**
 * The API server sends at most 3 MiB per object; an UPDATE carries two plus the envelope
 * (controller-runtime reads 7 MiB for the same reason).
 */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

export interface AdmissionHandlerOptions {
  source: ContextSource;
  logger: Logger;
  metrics: WebhookMetrics;
  deadlineMs: number;
}

/** Which webhook a request is for, or undefined when it is not an admission request. */
export function admissionRoute(req: IncomingMessage): Webhook | undefined {
  if (req.method !== 'POST') return undefined;
  const path = req.url?.split('?', 1)[0];
  return path === '/validate' ? 'validate' : path === '/mutate' ? 'mutate' : undefined;
}

export function handleAdmission(
  webhook: Webhook,
  req: IncomingMessage,
  res: ServerResponse,
  options: AdmissionHandlerOptions,
): void {
  const { metrics } = options;
  const contentType = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    return reject(
      res,
      400,
      `expected Content-Type: application/json, got ${JSON.stringify(contentType || '(none)')}`,
      webhook,
      metrics,
      req,
    );
  }
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_BODY_BYTES) return reject(res, 413, tooLarge(), webhook, metrics, req);

  const chunks: Buffer[] = [];
  let size = 0;
  let aborted = false;
  req.on('data', (chunk: Buffer) => {
    if (aborted) return;
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      aborted = true;
      chunks.length = 0;
      reject(res, 413, tooLarge(), webhook, metrics, req);
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (aborted) return;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
    const started = process.hrtime.bigint();
    const failed = (err: unknown) => {
      options.logger.error(
        { err: (err as Error).message, stack: (err as Error).stack },
        'admission request failed',
      );
      if (!res.headersSent) reject(res, 500, 'internal error', webhook, metrics);
    };
    const context = options.source.current();
    if (context) {
      // The usual case: the context is in memory, so answer in this tick.
      let result: Admitted | Rejected | Deferred;
      try {
        result = admitOrDefer(body, webhook, context, options.source);
        if (result.status !== 'wait') return finish(webhook, result, res, started, options);
      } catch (err) {
        return failed(err);
      }
      // A release the request needs is being fetched: wait for it, within the deadline.
      metrics.inFlight.inc();
      admitDeferred(result, webhook, options.source, options.deadlineMs)
        .then((admitted) => finish(webhook, admitted, res, started, options))
        .catch(failed)
        .finally(() => metrics.inFlight.dec());
      return;
    }
    metrics.inFlight.inc();
    admit(body, webhook, options.source, options.deadlineMs)
      .then((result) => finish(webhook, result, res, started, options))
      .catch(failed)
      .finally(() => metrics.inFlight.dec());
  });
}

function finish(
  webhook: Webhook,
  result: Admitted | Rejected,
  res: ServerResponse,
  started: bigint,
  options: AdmissionHandlerOptions,
): void {
  const { metrics, logger } = options;
  send(res, result.status, result.body);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  metrics.duration.observe({ webhook }, seconds);
  if (result.status !== 200) {
    metrics.requests.inc({ webhook, operation: 'unknown', outcome: 'error' });
    logger.warn({ webhook, error: result.error }, 'bad AdmissionReview');
    return;
  }
  const { request, decision } = result;
  const warned = decision.findings.some((f) => f.severity === 'warn');
  const outcome: Outcome = !decision.allowed ? 'denied' : warned ? 'warned' : 'allowed';
  metrics.requests.inc({ webhook, operation: request.operation, outcome });
  for (const f of decision.findings)
    metrics.ruleFindings.inc({ webhook, rule: f.rule, severity: f.severity });
  if (result.fallback) metrics.contextFallbacks.inc({ reason: 'deadline' });
  // Identities, rule ids and timings only: never the objects, which may hold anything.
  logger.info(
    {
      webhook,
      uid: request.uid,
      kind: request.kind.kind,
      namespace: request.namespace,
      name: request.name,
      operation: request.operation,
      user: request.userInfo?.username,
      rules: [...new Set(decision.findings.map((f) => f.rule))],
      allowed: decision.allowed,
      patched: decision.patch.length > 0,
      dryRun: request.dryRun,
      durationMs: Math.round(seconds * 1e6) / 1e3,
    },
    'decision',
  );
}

function send(res: ServerResponse, status: number, body: string): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.length });
  res.end(bytes);
}

function reject(
  res: ServerResponse,
  status: number,
  message: string,
  webhook: Webhook,
  metrics: WebhookMetrics,
  req?: IncomingMessage,
): void {
  metrics.requests.inc({ webhook, operation: 'unknown', outcome: 'error' });
  if (res.headersSent) return;
  // The rest of the body is not read: ask the client to close instead of reusing a half-read
  // connection.
  if (req && !req.complete) res.setHeader('Connection', 'close');
  send(res, status, statusBody(status, message));
}

function tooLarge(): string {
  return `request body larger than ${MAX_BODY_BYTES} bytes`;
}
