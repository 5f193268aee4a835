// The webhook's request listener: the admission routes on bare node:http (admission-handler.ts,
// the hot path) and everything else — health, readiness, metrics — on express.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { admissionRoute, handleAdmission } from './admission-handler.js';
import { statusBody } from './admit.js';
import type { ContextSource } from './context-source.js';
import type { Logger } from './logger.js';
import type { WebhookMetrics } from './metrics.js';

export { MAX_BODY_BYTES } from './admission-handler.js';

export interface AppOptions {
  source: ContextSource;
  logger: Logger;
  metrics: WebhookMetrics;
  deadlineMs: number;
  /** Ready to serve right answers: certificate loaded, context loaded, not draining. */
  ready: () => boolean;
}

export function createApp(options: AppOptions): RequestListener {
  const other = supportRoutes(options);
  return (req: IncomingMessage, res: ServerResponse) => {
    const webhook = admissionRoute(req);
    if (webhook) handleAdmission(webhook, req, res, options);
    else other(req, res);
  };
}

function supportRoutes({ metrics, logger, ready }: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const ok = ready();
    res
      .status(ok ? 200 : 503)
      .type('text/plain')
      .send(ok ? 'ok' : 'not ready');
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
  app.use((err: Error & { status?: number }, req: Request, res: Response, _next: NextFunction) => {
    const status = err.status && err.status < 500 ? err.status : 500;
    if (status === 500)
      logger.error({ err: err.message, stack: err.stack, path: req.path }, 'request failed');
    if (!res.headersSent) {
      res
        .status(status)
        .type('application/json')
        .send(statusBody(status, status === 500 ? 'internal error' : err.message));
    }
  });
  return app;
}
