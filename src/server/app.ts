// The webhook's HTTP routes (express), apart from the TLS server that carries them.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Webhook } from '../engine/decide.js';
import { admit, statusBody } from './admit.js';
import type { ContextSource } from './context-source.js';
import type { Logger } from './logger.js';
import type { Outcome, WebhookMetrics } from './metrics.js';

/**
 * The API server sends at most 3 MiB per object; an UPDATE carries two plus the envelope
 * (controller-runtime reads 7 MiB for the same reason).
 */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

export interface AppOptions {
  source: ContextSource;
  logger: Logger;
  metrics: WebhookMetrics;
  deadlineMs: number;
  /** Ready to serve right answers: certificate loaded, context loaded, not draining. */
  ready: () => boolean;
}

export function createApp(options: AppOptions): express.Express {
  const { metrics, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);

  const body = express.raw({ type: () => true, limit: MAX_BODY_BYTES });
  for (const webhook of ['validate', 'mutate'] as const) {
    app.post(`/${webhook}`, requireJson, body, (req, res, next) => {
      handle(webhook, req, res, options).catch(next);
    });
  }
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const ready = options.ready();
    res
      .status(ready ? 200 : 503)
      .type('text/plain')
      .send(ready ? 'ok' : 'not ready');
  });
  app.get('/metrics', (_req, res, next) => {
    metrics.registry
      .metrics()
      .then((text) => res.type(metrics.registry.contentType).send(text))
      .catch(next);
  });
  app.use((_req: Request, res: Response) => {
    res
      .status(404)
      .type('application/json')
      .send(
        statusBody(
          404,
          'not found: use POST /validate or /mutate, GET /healthz, /readyz or /metrics',
        ),
      );
  });
  app.use(
    (
      err: Error & { status?: number; type?: string },
      req: Request,
      res: Response,
      _next: NextFunction,
    ) => {
      const status =
        err.type === 'entity.too.large' ? 413 : err.status && err.status < 500 ? err.status : 500;
      const message =
        status === 413
          ? `request body larger than ${MAX_BODY_BYTES} bytes`
          : status === 500
            ? 'internal error'
            : err.message;
      if (status === 500)
        logger.error({ err: err.message, stack: err.stack, path: req.path }, 'request failed');
      if (req.path === '/validate' || req.path === '/mutate') {
        metrics.requests.inc({
          webhook: req.path.slice(1),
          operation: 'unknown',
          outcome: 'error',
        });
      }
      if (!res.headersSent)
        res.status(status).type('application/json').send(statusBody(status, message));
    },
  );
  return app;
}

function requireJson(req: Request, res: Response, next: NextFunction): void {
  if (req.is('application/json')) return next();
  res
    .status(400)
    .type('application/json')
    .send(
      statusBody(
        400,
        `expected Content-Type: application/json, got ${JSON.stringify(req.get('content-type') ?? '(none)')}`,
      ),
    );
}

async function handle(
  webhook: Webhook,
  req: Request,
  res: Response,
  options: AppOptions,
): Promise<void> {
  const { metrics, logger } = options;
  const started = process.hrtime.bigint();
  metrics.inFlight.inc();
  try {
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const result = await admit(bytes, webhook, options.source, options.deadlineMs);
    res.status(result.status).type('application/json').send(result.body);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.duration.observe({ webhook }, seconds);
    if (result.status !== 200) {
      metrics.requests.inc({ webhook, operation: 'unknown', outcome: 'error' });
      logger.warn({ webhook, error: result.error }, 'bad AdmissionReview');
      return;
    }
    const { request, decision } = result;
    const outcome: Outcome = !decision.allowed
      ? 'denied'
      : decision.findings.some((f) => f.severity === 'warn')
        ? 'warned'
        : 'allowed';
    metrics.requests.inc({ webhook, operation: request.operation, outcome });
    for (const f of decision.findings)
      metrics.ruleFindings.inc({ webhook, rule: f.rule, severity: f.severity });
    if (result.fallback) metrics.contextFallbacks.inc({ reason: 'deadline' });
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
  } finally {
    metrics.inFlight.dec();
  }
}
