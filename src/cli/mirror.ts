// `streamguard mirror …`: checks of a mirror registry against a plan.
//
//   mirror verify --plan DIR   HEADs every planned image by digest in the mirror and writes the
//                              mirror inventory ConfigMap the `mirrored` rule reads
//
// Exit codes: 0 every planned image is present, 1 some are missing (the inventory is written
// anyway, with what is present), 2 bad input (no plan, a malformed images.json, bad options),
// 3 the registry could not be asked (unreachable, refused credentials, server errors).

import { writeFileAtomic } from '../fsutil/atomic-write.js';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { PlanError } from '../mirror/errors.js';
import {
  renderInventory,
  verifyPlan,
  type PlanImage,
  type VerifyResult,
} from '../mirror/verify.js';
import { RegistryClient } from '../registry/client.js';
import { RegistryError } from '../registry/errors.js';
import { EXIT, ExternalError, UsageError } from './exit.js';

export interface MirrorVerifyOptions {
  plan: string;
  authfile?: string;
  insecureRegistry?: string[];
  concurrency?: number;
  inventoryOut?: string;
  namespace?: string;
  name?: string;
  output: 'text' | 'json';
}

/** Registry error codes that mean the input was wrong, not the registry. */
const INPUT_CODES = new Set(['INVALID_REFERENCE', 'INVALID_DIGEST', 'AUTH_FILE']);

export async function runMirrorVerify(options: MirrorVerifyOptions): Promise<number> {
  const concurrency = options.concurrency ?? 16;
  const client = new RegistryClient({
    authfile: options.authfile,
    insecureRegistries: options.insecureRegistry ?? [],
    concurrency,
  });
  let result: VerifyResult;
  try {
    result = await verifyPlan(client, options.plan, {
      concurrency,
      namespace: options.namespace,
      name: options.name,
    });
  } catch (err) {
    throw classify(err);
  } finally {
    await client.close();
  }
  const out = options.inventoryOut ?? join(options.plan, 'mirror-inventory.yaml');
  await writeFileAtomic(out, renderInventory(result.inventory)).catch((err: unknown) => {
    throw new UsageError(`cannot write the inventory to ${out}: ${(err as Error).message}`);
  });
  const code = result.missing.length === 0 ? EXIT.ok : EXIT.policy;
  const digests = countDigests(result);
  process.stdout.write(
    options.output === 'json'
      ? renderJson(result, out, digests, code)
      : renderText(result, out, digests),
  );
  return code;
}

function classify(err: unknown): unknown {
  if (err instanceof PlanError) return new UsageError(err.message);
  if (err instanceof RegistryError) {
    if (err.code !== undefined && INPUT_CODES.has(err.code)) return new UsageError(err.message);
    return new ExternalError(err.message);
  }
  return err;
}

function countDigests(result: VerifyResult): number {
  return (result.inventory.data?.digests ?? '').split('\n').filter((l) => l !== '').length;
}

function describe(image: PlanImage): string {
  const what = image.kind === 'component' ? `${image.kind} ${image.tag}` : image.kind;
  return `${image.destination} @ ${image.digest} (${image.release} ${what}, ${image.stream})`;
}

function renderText(result: VerifyResult, out: string, digests: number): string {
  const total = result.present.length + result.missing.length;
  const lines = [
    `${result.registry}: ${result.present.length} of ${total} planned images present ` +
      `(${result.checked} distinct repository and digest pairs checked)`,
  ];
  if (result.missing.length > 0) {
    lines.push(`missing (${result.missing.length}):`);
    for (const image of result.missing) lines.push(`  ${describe(image)}`);
  }
  lines.push(`inventory: ${out} (${digests} digests)`);
  return `${lines.join('\n')}\n`;
}

function renderJson(result: VerifyResult, out: string, digests: number, code: number): string {
  const slim = (i: PlanImage) => ({
    release: i.release,
    kind: i.kind,
    tag: i.tag,
    stream: i.stream,
    source: i.source,
    destination: i.destination,
    digest: i.digest,
  });
  const doc = {
    registry: result.registry,
    images: result.present.length + result.missing.length,
    present: result.present.length,
    checked: result.checked,
    missing: result.missing.map(slim),
    inventory: {
      path: out,
      name: result.inventory.metadata?.name,
      namespace: result.inventory.metadata?.namespace,
      digests,
    },
    exitCode: code,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) {
      throw new InvalidArgumentError(`${what} must be a positive whole number`);
    }
    return n;
  };
}

function nonEmpty(what: string) {
  return (value: string): string => {
    if (value.trim() === '') throw new InvalidArgumentError(`${what} must not be empty`);
    return value;
  };
}

/** Adds the `mirror` command group to the program. */
export function registerMirrorCommands(
  program: Command,
  run: (work: Promise<number>) => void,
): void {
  const mirror = program
    .command('mirror')
    .description('check a mirror registry against a plan written by `streamguard plan`');
  mirror
    .command('verify')
    .description(
      'check that the mirror holds every planned image (HEAD by digest) and write the mirror inventory ConfigMap the `mirrored` rule reads',
    )
    .addOption(
      new Option('--plan <dir>', 'plan directory (its images.json lists the images)')
        .argParser(nonEmpty('--plan'))
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--authfile <file>',
        'registry credentials (containers-auth.json); default: REGISTRY_AUTH_FILE, then the podman and docker locations',
      ).argParser(nonEmpty('--authfile')),
    )
    .addOption(
      new Option(
        '--insecure-registry <host>',
        'speak plain HTTP to this registry host[:port] (repeatable)',
      ).argParser(collect),
    )
    .addOption(
      new Option('--concurrency <n>', 'requests in flight at once')
        .default(16)
        .argParser(positiveInt('--concurrency')),
    )
    .addOption(
      new Option(
        '--inventory-out <file>',
        'where to write the inventory ConfigMap (default: <plan>/mirror-inventory.yaml)',
      ).argParser(nonEmpty('--inventory-out')),
    )
    .addOption(
      new Option('-n, --namespace <ns>', 'namespace of the inventory ConfigMap')
        .default('streamguard')
        .argParser(nonEmpty('--namespace')),
    )
    .addOption(
      new Option('--name <name>', 'name of the inventory ConfigMap')
        .default('streamguard-mirror-inventory')
        .argParser(nonEmpty('--name')),
    )
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['text', 'json'])
        .default('text'),
    )
    .addHelpText(
      'after',
      '\nThe inventory is written (atomically) even when images are missing; add it to the --state of\n`streamguard check`/`serve` or apply it to the cluster.\n\nExit codes: 0 all present, 1 some missing, 2 bad input, 3 registry unreachable or refusing.\n\nExample:\n  streamguard mirror verify --plan ./plan --authfile ~/.docker/config.json',
    )
    .action((opts: MirrorVerifyOptions) => run(runMirrorVerify(opts)));
}
