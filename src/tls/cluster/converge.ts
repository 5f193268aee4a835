// Brings the TLS Secret to a fixed point of the plan, race-free without a lock: create-if-absent,
// replace at the version read, and after any write or lost race read again and re-plan. What it
// returns was read back from the API server, so nothing downstream (the caBundle, the serving
// files) ever uses a CA that is not persisted.
import { KubeError } from '../../kube/errors.js';
import type { Logger } from '../../server/logger.js';
import { backoffMs, sleep } from './backoff.js';
import { transient } from '../../kube/json.js';
import { planTlsSecret, type Lifetimes, type Step, type TlsPlan } from './plan.js';
import type { TlsSecretData } from './secret-data.js';
import type { TlsSecretStore } from './secret-store.js';

export interface ConvergeOptions {
  sans: string[];
  clock: () => number;
  /** See PlanInput.published. */
  published?: ReadonlySet<string>;
  lifetimes?: Lifetimes;
  logger: Logger;
  /** Reads, writes and lost races before giving up. Default 12. */
  maxAttempts?: number;
}

export interface Converged {
  data: Required<TlsSecretData>;
  /** The Secret's resourceVersion when it was read back. */
  resourceVersion: string;
  /** The last plan: empty steps, maybe `waiting`, and `nextChange`. */
  plan: TlsPlan;
  /** Steps this replica wrote (not the ones it found done by others). */
  wrote: Step[];
}

export async function convergeSecret(
  store: TlsSecretStore,
  options: ConvergeOptions,
): Promise<Converged> {
  const { logger, maxAttempts = 12 } = options;
  const wrote: Step[] = [];
  let reported = '';
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    let outcome: string;
    try {
      const current = await store.read();
      const plan = planTlsSecret({
        data: current?.data,
        sans: options.sans,
        now: options.clock(),
        ...(options.published ? { published: options.published } : {}),
        ...(options.lifetimes ? { lifetimes: options.lifetimes } : {}),
      });
      const findings = plan.findings.join('; ');
      if (findings && findings !== reported) {
        logger.warn({ secret: store.where, findings: plan.findings }, 'TLS Secret: parts ignored');
        reported = findings;
      }
      if (plan.steps.length === 0) {
        if (current === undefined) throw new Error('a plan that keeps needs a Secret');
        if (plan.waiting) logger.info({ secret: store.where }, plan.waiting);
        return { data: plan.data, resourceVersion: current.resourceVersion, plan, wrote };
      }
      outcome = current ? await store.replace(current, plan.data) : await store.create(plan.data);
      logger.info(
        { secret: store.where, steps: plan.steps, reasons: plan.reasons, outcome },
        outcome === 'created' || outcome === 'replaced'
          ? 'TLS Secret written'
          : 'TLS Secret changed by another writer; re-reading',
      );
      if (outcome === 'created' || outcome === 'replaced') {
        wrote.push(...plan.steps);
        continue; // read back what was stored
      }
    } catch (err) {
      if (!(err instanceof KubeError) || !transient(err.status) || attempt + 1 === maxAttempts) {
        throw err;
      }
      logger.warn({ secret: store.where, err: err.message }, 'TLS Secret: retrying');
    }
    await sleep(backoffMs(attempt));
  }
  throw new KubeError(
    store.server,
    `settle ${store.where}`,
    `no stable state after ${maxAttempts} tries`,
  );
}
