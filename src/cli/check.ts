// `streamguard check`: a GitOps pre-merge check of manifests (and the Argo CD PreSync hook).
import { evaluateChange } from '../gitops/evaluate.js';
import { manifestFiles, manifestObjects } from '../gitops/files.js';
import { fileAtRevision } from '../gitops/git.js';
import { isNote, renderJson, renderJunit, renderText } from '../gitops/report.js';
import type { KubeObject } from '../k8s/objects.js';
import { parseManifestBytes } from '../state/parse.js';
import { loadContext, readInput } from './context.js';
import { EXIT, UsageError } from './exit.js';
import { fromCluster, loadKubeConfig } from './kube.js';

export interface CheckOptions {
  state?: string;
  policy?: string;
  kubeconfig?: string;
  inCluster?: boolean;
  baseRef?: string;
  output: 'text' | 'json' | 'junit';
  failOnWarn: boolean;
  namespace: string;
  as?: string;
  asGroup?: string[];
}

export async function runCheck(paths: string[], options: CheckOptions): Promise<number> {
  if (paths.length === 0)
    throw new UsageError('give at least one manifest file or directory (or - for stdin)');
  if (options.baseRef && paths.includes('-'))
    throw new UsageError('--base-ref cannot be used with - (stdin has no Git history)');
  const live = options.kubeconfig !== undefined || !!options.inCluster;
  if (live && options.state !== undefined)
    throw new UsageError('give either --state or --kubeconfig/--in-cluster, not both');
  const kc = live ? await loadKubeConfig(options) : undefined;
  const [ctx, files] = await Promise.all([
    loadContext(options),
    manifestFiles(paths, () => readInput('-')),
  ]);
  let base: KubeObject[] | undefined;
  if (options.baseRef) {
    base = [];
    for (const file of files) {
      const bytes = await fileAtRevision(options.baseRef, file.path);
      if (bytes) base.push(...parseManifestBytes(bytes, `${file.path}@${options.baseRef}`));
    }
  }
  const manifests = manifestObjects(files);
  // Live: old objects and context from the cluster as it is now, the releases fetched first.
  const cluster = kc
    ? await fromCluster(async () =>
        (await import('../live/check-context.js')).checkContext(
          kc,
          manifests.map((m) => m.object),
          options.namespace,
        ),
      )
    : undefined;
  for (const problem of cluster?.problems ?? []) process.stderr.write(`streamguard: ${problem}\n`);
  const results = evaluateChange({
    cluster: cluster?.cluster ?? ctx.cluster,
    releases: cluster?.releases ?? ctx.releases,
    policy: ctx.policy,
    manifests,
    base,
    defaultNamespace: options.namespace,
    user: options.as ? { username: options.as, groups: options.asGroup ?? [] } : undefined,
    live: cluster !== undefined,
  });
  await cluster?.close();
  const denied = results.some((r) => !r.allowed);
  const warned = results.some((r) => r.findings.some((f) => f.severity === 'warn' && !isNote(f)));
  const code = denied || (options.failOnWarn && warned) ? EXIT.policy : EXIT.ok;
  const out =
    options.output === 'json'
      ? renderJson(results, code)
      : options.output === 'junit'
        ? renderJunit(results, options.failOnWarn)
        : renderText(results);
  process.stdout.write(out);
  return code;
}
