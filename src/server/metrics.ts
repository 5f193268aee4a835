// Prometheus metrics of the webhook (prom-client), on a registry of our own so tests and several
// servers in one process never share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Outcome = 'allowed' | 'denied' | 'warned' | 'error';
export type ReloadSource = 'policy' | 'state' | 'certificate';

export interface WebhookMetrics {
  registry: Registry;
  requests: Counter<'webhook' | 'operation' | 'outcome'>;
  ruleFindings: Counter<'webhook' | 'rule' | 'severity'>;
  duration: Histogram<'webhook'>;
  inFlight: Gauge;
  reloads: Counter<'source'>;
  reloadFailures: Counter<'source'>;
  certificateExpiry: Gauge;
  contextFallbacks: Counter<'reason'>;
}

export function createMetrics(options: { processMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'streamguard_admission_requests_total',
      help: 'AdmissionReview requests answered, by webhook, operation and outcome (allowed, denied, warned, error).',
      labelNames: ['webhook', 'operation', 'outcome'],
      registers: [registry],
    }),
    ruleFindings: new Counter({
      name: 'streamguard_rule_findings_total',
      help: 'Rule findings in admission responses, by webhook, rule id and severity (deny, warn).',
      labelNames: ['webhook', 'rule', 'severity'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'streamguard_admission_duration_seconds',
      help: 'Time from request received to response written.',
      labelNames: ['webhook'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'streamguard_admission_in_flight',
      help: 'AdmissionReview requests being answered now.',
      registers: [registry],
    }),
    reloads: new Counter({
      name: 'streamguard_reloads_total',
      help: 'Successful reloads of the policy, the state or the serving certificate.',
      labelNames: ['source'],
      registers: [registry],
    }),
    reloadFailures: new Counter({
      name: 'streamguard_reload_failures_total',
      help: 'Refused reloads (the last good policy, state or certificate stays in force).',
      labelNames: ['source'],
      registers: [registry],
    }),
    certificateExpiry: new Gauge({
      name: 'streamguard_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the serving certificate in force, as a Unix timestamp.',
      registers: [registry],
    }),
    contextFallbacks: new Counter({
      name: 'streamguard_context_fallbacks_total',
      help: 'Decisions made without full context because it could not be had before the deadline.',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
