// The `streamguard` command line: one engine, several front ends.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { runCheck } from './check.js';
import { EXIT, exitCodeFor } from './exit.js';
import { registerManifestsCommand } from './manifests.js';
import { registerMirrorCommands } from './mirror.js';
import { registerPlanCommand } from './plan.js';
import { runPolicyValidate } from './policy.js';
import { registerReleaseCommands } from './release.js';
import { runReview } from './review.js';
import { runServe } from './serve.js';
import { LOG_LEVELS } from '../server/logger.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${what} must be a positive whole number`);
    return n;
  };
}

function nonNegativeInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${what} must be a whole number, 0 or more`);
    return n;
  };
}

function nonEmpty(what: string) {
  return (value: string): string => {
    if (value.trim() === '') throw new InvalidArgumentError(`${what} must not be empty`);
    return value;
  };
}

export function buildProgram(run: (work: Promise<number>) => void): Command {
  const program = new Command('streamguard')
    .description(
      'Keeps the RHEL 9 → RHEL 10 node OS transition of HyperShift NodePools safe: decides on the effective OS stream (spec.osImageStream) of every NodePool change.',
    )
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 allowed, 1 denied (or warned with --fail-on-warn), 2 usage or input error,\n3 external failure (git, registry, cluster).',
    );

  const stateOption = () =>
    new Option(
      '--state <dir>',
      'offline cluster state: a directory of Kubernetes YAML/JSON (HostedClusters, NodePools, ConfigMaps, the NodePool CRD, mirror sets, release data)',
    ).argParser(nonEmpty('--state'));
  const policyOption = () =>
    new Option(
      '--policy <file>',
      'StreamPolicy YAML (default: the built-in policy, policies/default.yaml)',
    ).argParser(nonEmpty('--policy'));
  const kubeconfigOption = () =>
    new Option(
      '--kubeconfig <file>',
      'read the cluster live through this kubeconfig (instead of --state)',
    ).argParser(nonEmpty('--kubeconfig'));
  const inClusterOption = () =>
    new Option(
      '--in-cluster',
      "read the cluster live with the Pod's service account (instead of --state)",
    );
  const asOption = () =>
    new Option(
      '--as <user>',
      'honour streamguard.io/exempt annotations for this user (the policy must allow them)',
    );
  const asGroupOption = () =>
    new Option('--as-group <group>', 'a group of the --as user (repeatable)').argParser(collect);

  program
    .command('review')
    .description(
      'decide one AdmissionReview v1 request and print the response exactly as the webhook returns it',
    )
    .argument('<request>', 'AdmissionReview JSON file, or - for stdin')
    .addOption(stateOption())
    .addOption(policyOption())
    .addOption(
      new Option('--webhook <kind>', 'which webhook answers')
        .choices(['validate', 'mutate'])
        .default('validate'),
    )
    .addOption(asOption())
    .addOption(asGroupOption())
    .addHelpText(
      'after',
      '\nExamples:\n  streamguard review --state examples/state examples/requests/downgrade-inplace.json\n  kubectl ... | streamguard review --webhook mutate -\n\nPrints compact JSON and exits 0 whenever a response was printed, allowed or not.',
    )
    .action((request: string, opts) => run(runReview(request, opts)));

  program
    .command('check')
    .description(
      'GitOps pre-merge check: judge the NodePools in manifests as the admission webhooks would',
    )
    .argument(
      '<path...>',
      'manifest files or directories (recursively *.yaml, *.yml, *.json), or - for stdin',
    )
    .addOption(stateOption())
    .addOption(policyOption())
    .addOption(
      new Option(
        '--base-ref <gitref>',
        "take each NodePool's old version from the same file at this Git revision (e.g. origin/main)",
      ).argParser(nonEmpty('--base-ref')),
    )
    .addOption(kubeconfigOption())
    .addOption(inClusterOption())
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['text', 'json', 'junit'])
        .default('text'),
    )
    .option('--fail-on-warn', 'exit 1 on warnings too', false)
    .addOption(
      new Option(
        '-n, --namespace <ns>',
        'namespace for manifests that have none (the GitOps destination namespace)',
      )
        .default('default')
        .argParser(nonEmpty('--namespace')),
    )
    .addOption(asOption())
    .addOption(asGroupOption())
    .addHelpText(
      'after',
      '\nThe old object of each NodePool comes from --base-ref, else from --state, else it is a CREATE.\nHostedClusters and ConfigMaps among the manifests are context too.\n\nExamples:\n  streamguard check --state examples/state examples/gitops\n  streamguard check --base-ref origin/main -o junit clusters/ > streamguard.xml',
    )
    .action((paths: string[], opts) => run(runCheck(paths, { ...opts, output: opts.output })));

  program
    .command('serve')
    .description('run the validating and mutating admission webhook over HTTPS')
    .addOption(stateOption())
    .addOption(policyOption())
    .addOption(kubeconfigOption())
    .addOption(inClusterOption())
    .addOption(
      new Option(
        '--release-cache-dir <dir>',
        'with --kubeconfig/--in-cluster: keep release data read from registries here, by digest',
      ).argParser(nonEmpty('--release-cache-dir')),
    )
    .addOption(new Option('--listen <host:port>', 'address to listen on').default('0.0.0.0:8443'))
    .addOption(
      new Option('--tls-cert <file>', 'serving certificate (PEM); reloaded when it changes'),
    )
    .addOption(new Option('--tls-key <file>', 'its private key (PEM)'))
    .option(
      '--self-signed',
      'issue a CA and a serving certificate at startup (for trying it out)',
      false,
    )
    .addOption(
      new Option(
        '--san <name>',
        'extra DNS name or IP for the --self-signed or --tls-secret certificate (repeatable)',
      ).argParser(collect),
    )
    .addOption(
      new Option(
        '--cert-dir <dir>',
        'where --self-signed or --tls-secret writes ca.crt, tls.crt and tls.key (default: a new temporary directory)',
      ),
    )
    .addOption(
      new Option(
        '--tls-secret <name>',
        'self-managed TLS: a CA and serving certificate kept in this Secret, shared by all replicas (needs --kubeconfig or --in-cluster)',
      ).argParser(nonEmpty('--tls-secret')),
    )
    .addOption(
      new Option(
        '--tls-namespace <ns>',
        "the TLS Secret's namespace (default: $POD_NAMESPACE, else the service account's)",
      ).argParser(nonEmpty('--tls-namespace')),
    )
    .addOption(
      new Option(
        '--service <name>',
        'the webhook Service: NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local go into the serving certificate',
      ).argParser(nonEmpty('--service')),
    )
    .addOption(
      new Option(
        '--webhook-configuration <name>',
        'with --tls-secret: the Validating- and MutatingWebhookConfiguration of this name get the CA bundle (repeatable)',
      ).argParser(collect),
    )
    .addOption(
      new Option(
        '--deadline-ms <ms>',
        'per-request deadline for cluster context; keep it below the webhook timeoutSeconds',
      )
        .default(2000)
        .argParser(positiveInt('--deadline-ms')),
    )
    .addOption(
      new Option('--drain-seconds <s>', 'after SIGTERM, keep answering this long before closing')
        .default(10)
        .argParser(nonNegativeInt('--drain-seconds')),
    )
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(LOG_LEVELS as string[])
        .default('info'),
    )
    .addHelpText(
      'after',
      '\nRoutes: POST /validate, POST /mutate (AdmissionReview admission.k8s.io/v1), GET /healthz, /readyz, /metrics.\n\nTry it on loopback:\n  streamguard serve --state examples/state --self-signed --cert-dir /tmp/sg --listen 127.0.0.1:8443\n  curl --cacert /tmp/sg/ca.crt -H "Content-Type: application/json" \\\n    --data @examples/requests/nodepool-downgrade-inplace.json https://localhost:8443/validate',
    )
    .action((opts) => run(runServe(opts)));

  const policy = program.command('policy').description('work with StreamPolicy files');
  policy
    .command('validate')
    .description('check a StreamPolicy file against the schema and print the effective policy')
    .argument('<file>', 'StreamPolicy YAML file')
    .action((file: string) => run(runPolicyValidate(file)));

  registerReleaseCommands(program, run);
  registerPlanCommand(program, run);

  registerMirrorCommands(program, run);
  registerManifestsCommand(program, run);

  return program;
}

/** Runs the CLI and returns the exit code (the bin sets process.exitCode; tests call this). */
export async function main(argv: string[]): Promise<number> {
  let work: Promise<number> | undefined;
  const program = buildProgram((w) => {
    work = w;
  });
  program.exitOverride();
  program.commands.forEach(function override(cmd: Command) {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  });
  try {
    await program.parseAsync(argv);
    if (!work) return EXIT.ok;
    return await work;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.input;
    }
    const code = exitCodeFor(err);
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`streamguard: ${code === EXIT.input ? 'error' : 'failed'}: ${message}\n`);
    if (!(err instanceof Error) || err.name === 'Error' || err.name === 'TypeError') {
      // Not one of ours: show where, so it can be reported.
      process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    }
    return code;
  }
}
