// `streamguard manifests`: the Helm chart's objects as plain YAML, for clusters installed
// without Helm (`streamguard manifests | kubectl apply -f -`). data/manifests/streamguard.yaml is
// the chart (charts/streamguard) rendered by Helm's own engine with MANIFEST_RENDER; a test
// renders the chart again and compares, so it cannot drift from the chart.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EXIT } from './exit.js';

/** Shipped with the package (package.json `files`: data). */
export const RENDERED_FILE = new URL('../../data/manifests/streamguard.yaml', import.meta.url);

/** How the embedded text was rendered (release, namespace, values over the chart's defaults). */
export const MANIFEST_RENDER = {
  name: 'streamguard',
  namespace: 'streamguard',
  // Helm hooks mean nothing to kubectl: the pre-delete cleanup Job would run at once and delete
  // the webhook configurations it was meant to remove on uninstall.
  values: { cleanupHook: { enabled: false } },
} as const;

const NAMESPACE = `---
apiVersion: v1
kind: Namespace
metadata:
  name: ${MANIFEST_RENDER.namespace}
`;

/** The whole output: the namespace, then the rendered chart. */
export function plainManifests(): string {
  return NAMESPACE + readFileSync(RENDERED_FILE, 'utf8');
}

export function registerManifestsCommand(
  program: Command,
  run: (work: Promise<number>) => void,
): void {
  program
    .command('manifests')
    .description(
      `print the Helm chart's objects as plain YAML (release ${MANIFEST_RENDER.name} in namespace ${MANIFEST_RENDER.namespace}, self-managed TLS), for kubectl apply`,
    )
    .addHelpText(
      'after',
      '\nExample:\n  streamguard manifests | kubectl apply -f -\n\nTo change any setting, install the Helm chart (charts/streamguard) instead.',
    )
    .action(() =>
      run(
        (async () => {
          process.stdout.write(plainManifests());
          return EXIT.ok;
        })(),
      ),
    );
}
