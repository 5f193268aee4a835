// `streamguard check`: a GitOps pre-merge check of manifests (and the Argo CD PreSync hook).
import { evaluateChange } from '../gitops/evaluate.js';
import { manifestFiles, manifestObjects } from '../gitops/files.js';
import { fileAtRevision } from '../gitops/git.js';
import { isNote, renderJson, renderJunit, renderText } from '../gitops/report.js';
import type { KubeObject } from '../k8s/objects.js';
import { parseManifestBytes } from '../state/parse.js';
import { loadContext, readInput } from './context.js';
import { EXIT, UsageError } from './exit.js';

export interface CheckOptions {
  state?: string;
  policy?: string;
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
  const results = evaluateChange({
    cluster: ctx.cluster,
    releases: ctx.releases,
    policy: ctx.policy,
    manifests: manifestObjects(files),
    base,
    defaultNamespace: options.namespace,
    user: options.as ? { username: options.as, groups: options.asGroup ?? [] } : undefined,
  });
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
