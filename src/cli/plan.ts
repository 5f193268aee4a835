// `streamguard plan`: read release payloads from their registry and write a mirror plan directory
// (oc-mirror ImageSetConfiguration, IDMS/ITMS, mapping.txt, images.json, summary.md).
//
// Per release: the release manifest (+ the child of a multi-arch index), the payload's last layer
// (streamed only until the release files have been seen) and one manifest GET per component for
// sizes. Everything fetched by digest goes to --cache-dir, so a rerun costs a handful of requests.
// Nothing is written unless every release was read: a failure leaves no output directory.

import { InvalidArgumentError, Option, type Command } from 'commander';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeArch } from '../mirror/arch.js';
import { PlanExistsError } from '../mirror/errors.js';
import { planImages } from '../mirror/images.js';
import { buildPlan, writePlanDir } from '../mirror/index.js';
import { parseOciTarget, publishPlan } from '../mirror/publish.js';
import type { ImageReference } from '../registry/index.js';
import { checkMaxNestedPaths, parseRef, parseRepository } from '../mirror/ref.js';
import { readRelease, type ReleaseProgress, type ReleaseRead } from '../mirror/release-reader.js';
import { formatBytes, streamSizes, type SizeTotal } from '../mirror/summary.js';
import type { MirrorSourcePolicy, PlanOptions } from '../mirror/types.js';
import type { RequestStats } from '../registry/index.js';
import { EXIT, UsageError } from './exit.js';
import {
  authfileOption,
  cliError,
  collectList,
  insecureRegistryOption,
  registryClient,
  type RegistryFlags,
} from './registry.js';

export interface PlanCliOptions extends RegistryFlags {
  release: string[];
  to: string;
  out?: string;
  streams?: string[];
  arch?: string[];
  kubevirt: boolean;
  maxNestedPaths: number;
  mirrorSourcePolicy?: MirrorSourcePolicy;
  force: boolean;
  publish?: string;
}

function wholeNumber(what: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min) {
      throw new InvalidArgumentError(
        `${what} must be a whole number${min > 0 ? ` ≥ ${min}` : ', 0 or more'}`,
      );
    }
    return n;
  };
}

export function registerPlanCommand(program: Command, run: (work: Promise<number>) => void): void {
  program
    .command('plan')
    .description(
      'plan a disconnected mirror of OpenShift releases for every OS stream: oc-mirror input, IDMS/ITMS, mapping and sizes',
    )
    .addOption(
      new Option(
        '--release <pullspec...>',
        'release image(s) to mirror, by tag or digest (repeatable)',
      ).makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--to <registry[/namespace]>',
        'the mirror registry and optional namespace',
      ).makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--out <dir>',
        'plan directory to write (default: mirror-plans/<first release tag>)',
      ),
    )
    .addOption(
      new Option(
        '--streams <streams>',
        'OS streams to cover, comma-separated or repeated (default: every stream the releases offer)',
      ).argParser(collectList),
    )
    .addOption(
      new Option(
        '--arch <arch>',
        "architectures, comma-separated or repeated: x86_64|amd64, aarch64|arm64, ppc64le, s390x (default: the release's own; for a multi-arch release the first also picks the release image read)",
      ).argParser(collectList),
    )
    .option('--kubevirt', 'also mirror the KubeVirt container disk of every covered stream', false)
    .addOption(
      new Option(
        '--max-nested-paths <n>',
        "oc-mirror's --max-nested-paths for registries that limit path depth (0 = off)",
      )
        .default(0)
        .argParser(wholeNumber('--max-nested-paths', 0)),
    )
    .addOption(
      new Option(
        '--mirror-source-policy <policy>',
        'mirrorSourcePolicy of the IDMS/ITMS entries',
      ).choices(['NeverContactSource', 'AllowContactingSource']),
    )
    .option('--force', 'replace an existing --out directory', false)
    .addOption(
      new Option(
        '--publish <oci://registry/repo:tag>',
        'also push the plan as an OCI artifact (ORAS layout: one layer per file), e.g. for `oras pull` at a disconnected site',
      ),
    )
    .addOption(authfileOption())
    .addOption(insecureRegistryOption())
    .addOption(
      new Option('--concurrency <n>', 'registry requests in flight at once')
        .default(8)
        .argParser(wholeNumber('--concurrency', 1)),
    )
    .addOption(
      new Option(
        '--cache-dir <dir>',
        'keep manifests and payload files here (by digest; safe to share between runs at once) so reruns are cheap',
      ),
    )
    .addHelpText(
      'after',
      `
What it reads: per release the manifest, the payload's last layer (streamed only until
release-manifests/image-references, release-metadata and coreos-bootimages have been seen) and one
manifest per component for sizes. Nothing is pulled or pushed; nothing is written unless every
release was read. Progress goes to stderr, the summary to stdout.

Files written to --out: imageset-config*.yaml (oc-mirror v2), idms.yaml / itms.yaml, mapping.txt
(oc-mirror dry-run format), images.json, summary.md (images and sizes per stream, shared blobs
counted once; boot artifacts).

Examples:
  # Both OS streams of one release, into mirror-plans/5.0.0-x86_64
  streamguard plan --release quay.io/openshift-release-dev/ocp-release:5.0.0-x86_64 \\
    --to mirror.example.com:8443/ocp --cache-dir ~/.cache/streamguard

  # Only RHEL 10 with its KubeVirt disk, for a registry that allows two path levels
  streamguard plan --release quay.io/openshift-release-dev/ocp-release:5.0.0-x86_64 \\
    --to quay.example.com/ocp --streams rhel-10 --kubevirt --max-nested-paths 2

  # A multi-arch release for arm64 workers, credentials from a pull secret
  streamguard plan --release quay.io/openshift-release-dev/ocp-release:5.0.0-multi --arch aarch64 \\
    --to mirror.example.com/ocp --authfile pull-secret.json --out plans/5.0-arm

Exit codes: 0 written, 2 bad flags or --out exists (without --force), 3 registry unreachable or
refused (no output is left behind).`,
    )
    .action((opts: PlanCliOptions) => run(runPlan(opts)));
}

export async function runPlan(options: PlanCliOptions): Promise<number> {
  const started = Date.now();
  const planOptions = checkOptions(options);
  const publishTo = options.publish === undefined ? undefined : publishTarget(options.publish);
  // Refuse an existing --out before any request, when its name is known up front.
  const firstTag = parseRef(options.release[0] ?? '', 'release').tag;
  if (options.out !== undefined || firstTag !== undefined) {
    await refuseExisting(options.out ?? join('mirror-plans', firstTag ?? ''), options.force);
  }

  const progress = new Progress(process.stderr);
  const client = registryClient(options, { onRequest: () => progress.request(client.stats()) });
  let releases: ReleaseRead[];
  try {
    const results = await Promise.allSettled(
      options.release.map((pullspec) =>
        readRelease(client, pullspec, {
          withSizes: true,
          kubevirt: options.kubevirt,
          ...(options.arch !== undefined ? { arch: options.arch } : {}),
          ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
          onProgress: (p) => progress.update(p, client.stats()),
        }),
      ),
    );
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      const reason = (results[failed] as PromiseRejectedResult).reason;
      throw cliError(reason, `cannot read release ${options.release[failed]}`);
    }
    releases = results.map((r) => (r as PromiseFulfilledResult<ReleaseRead>).value);
  } finally {
    progress.finish();
    await client.close();
  }

  let out = options.out;
  let files;
  try {
    files = buildPlan(releases, planOptions);
    out ??= join('mirror-plans', releaseTag(releases[0] as ReleaseRead));
    const written = await writePlanDir(out, files, { force: options.force });
    if (written.leftover) {
      process.stderr.write(
        `streamguard: warning: could not remove the old plan at ${written.leftover}\n`,
      );
    }
  } catch (error) {
    throw cliError(error, 'cannot write the plan');
  }
  process.stdout.write(
    summary(out, [...files.keys()], releases, planOptions, client.stats(), Date.now() - started),
  );
  if (publishTo) {
    // The plan on disk is complete either way; a failed push is an external failure (exit 3).
    const publisher = registryClient(options);
    try {
      const published = await publishPlan(publisher, files, publishTo);
      process.stdout.write(`published: oci://${published.reference}\n`);
    } catch (error) {
      throw cliError(error, `plan written to ${out}, but publishing to ${options.publish} failed`);
    } finally {
      await publisher.close();
    }
  }
  return EXIT.ok;
}

function publishTarget(value: string): ImageReference {
  try {
    return parseOciTarget(value);
  } catch (error) {
    throw new UsageError(`--publish ${value}: ${(error as Error).message}`);
  }
}

/** Flag values the planner would refuse, refused before any request (exit 2). */
function checkOptions(options: PlanCliOptions): PlanOptions {
  try {
    if (options.release.length === 0) throw new UsageError('give at least one --release');
    for (const pullspec of options.release) parseRef(pullspec, 'release');
    checkMaxNestedPaths(parseRepository(options.to), options.maxNestedPaths);
    for (const arch of options.arch ?? []) normalizeArch(arch, 'architecture');
    if (options.streams !== undefined && options.streams.length === 0) {
      throw new UsageError('--streams names no stream');
    }
  } catch (error) {
    throw cliError(error, 'plan');
  }
  const plan: PlanOptions = {
    to: options.to,
    kubevirt: options.kubevirt,
    maxNestedPaths: options.maxNestedPaths,
  };
  if (options.streams !== undefined) plan.streams = options.streams;
  if (options.arch !== undefined) plan.architectures = options.arch;
  if (options.mirrorSourcePolicy !== undefined)
    plan.mirrorSourcePolicy = options.mirrorSourcePolicy;
  return plan;
}

async function refuseExisting(out: string, force: boolean): Promise<void> {
  if (force) return;
  const exists = await lstat(out).then(
    () => true,
    () => false,
  );
  if (exists) throw cliError(new PlanExistsError(out), 'plan');
}

function releaseTag(release: ReleaseRead): string {
  return parseRef(release.pullspec, 'release').tag ?? `${release.version}-${release.arch}`;
}

function summary(
  out: string,
  files: string[],
  releases: ReleaseRead[],
  options: PlanOptions,
  stats: RequestStats,
  ms: number,
): string {
  const plan = planImages(releases, options);
  const sizes = streamSizes(plan);
  const lines: string[] = [];
  lines.push(`Wrote ${out}: ${[...files].sort().join(', ')}`);
  for (const r of releases) {
    lines.push(
      `Release ${r.pullspec}: ${r.version} ${r.arch}, ${r.components.length} components, payload files ${
        r.scan.fromCache
          ? 'from the cache'
          : `from ${r.scan.layersRead} of ${r.scan.layers} layer(s) (${r.scan.bytesRead} of ${r.scan.layerBytes} bytes read)`
      }`,
    );
  }
  lines.push(`Streams: ${plan.streams.join(', ') || 'none'}`, 'Images per stream:');
  const rows: [string, SizeTotal][] = [['shared only', sizes.shared]];
  for (const [stream, total] of sizes.perStream) rows.push([`shared + ${stream}`, total]);
  rows.push(['whole plan', sizes.all]);
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, total] of rows) {
    lines.push(
      `  ${label.padEnd(width)}  ${String(total.images).padStart(4)} images  ${formatBytes(total.bytes)}${
        total.unknown > 0 ? ` (+${total.unknown} of unknown size)` : ''
      }`,
    );
  }
  const kinds = (['ping', 'token', 'manifest', 'blob', 'tags'] as const)
    .filter((k) => stats[k] > 0)
    .map((k) => `${k} ${stats[k]}`)
    .join(', ');
  lines.push(
    `Requests: ${stats.total}${kinds ? ` (${kinds})` : ''}, ${stats.retries} retr${stats.retries === 1 ? 'y' : 'ies'}`,
    `Time: ${(ms / 1000).toFixed(1)} s`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * Progress on stderr: on a terminal one line rewritten in place (at most ten times a second);
 * otherwise a plain line per release when its component count is known and then about every 10 %.
 */
class Progress {
  private readonly totals = new Map<string, number>();
  private readonly done = new Map<string, number>();
  private readonly tty: boolean;
  private lastDraw = 0;
  private lastDecile = 0;
  private drawn = false;
  private stats: RequestStats | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.tty = stream.isTTY === true;
  }

  request(stats: RequestStats): void {
    this.stats = stats;
    if (this.tty) this.draw(false);
  }

  update(p: ReleaseProgress, stats: RequestStats): void {
    this.stats = stats;
    const known = this.totals.has(p.pullspec);
    this.totals.set(p.pullspec, p.total);
    this.done.set(p.pullspec, p.done);
    if (this.tty) {
      this.draw(p.done === p.total);
      return;
    }
    if (!known) this.stream.write(`plan: ${p.pullspec}: ${p.total} components\n`);
    const { done, total } = this.sums();
    const decile = total === 0 ? 10 : Math.floor((done * 10) / total);
    if (decile > this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`plan: ${this.line()}\n`);
    }
  }

  finish(): void {
    if (this.tty && this.drawn) {
      this.draw(true);
      this.stream.write('\n');
    }
  }

  private sums() {
    let done = 0;
    let total = 0;
    for (const n of this.done.values()) done += n;
    for (const n of this.totals.values()) total += n;
    return { done, total };
  }

  private line(): string {
    const { done, total } = this.sums();
    const percent = total === 0 ? 0 : Math.floor((done * 100) / total);
    const s = this.stats;
    return (
      (total === 0
        ? 'reading the release payload(s)'
        : `${done}/${total} components (${percent}%)`) +
      (s ? `, ${s.total} requests, ${s.retries} retr${s.retries === 1 ? 'y' : 'ies'}` : '')
    );
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.drawn = true;
    this.stream.write(`\r\x1b[2Kplan: ${this.line()}`);
  }
}
