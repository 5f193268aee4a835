// `streamguard release inspect|fetch`: read a release payload straight from its registry (the
// manifest and the payload's last layer, a few hundred kilobytes) and show it, or write it into an
// offline state directory in the format `--state` reads, so nobody assembles release data by hand.

import { writeFileAtomic } from '../fsutil/atomic-write.js';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { parseBootImagesConfigMap } from '../catalog/bootimages-configmap.js';
import { CatalogError } from '../catalog/errors.js';
import { nodeImagesFromImageStream } from '../catalog/image-references.js';
import { compareStreamNames } from '../catalog/catalog.js';
import type { BootImageCatalog } from '../catalog/types.js';
import { ANNOTATIONS } from '../engine/types.js';
import { readRelease, type ReleaseRead } from '../mirror/release-reader.js';
import { bootImageCoverage, type CoverageRow } from '../release/coverage.js';
import {
  releaseStateFileName,
  renderReleaseStateFile,
  stateFileDigest,
} from '../release/state-objects.js';
import { parseManifests } from '../state/parse.js';
import { EXIT, UsageError } from './exit.js';
import {
  authfileOption,
  cliError,
  insecureRegistryOption,
  registryClient,
  type RegistryFlags,
} from './registry.js';

export interface ReleaseReadFlags extends RegistryFlags {
  arch?: string;
}

export interface InspectOptions extends ReleaseReadFlags {
  output: 'text' | 'json';
}

export interface FetchOptions extends ReleaseReadFlags {
  into: string;
  force: boolean;
}

export function registerReleaseCommands(
  program: Command,
  run: (work: Promise<number>) => void,
): void {
  const release = program
    .command('release')
    .description('read OpenShift release payloads from their registry');
  const common = (cmd: Command) =>
    cmd
      .addOption(
        new Option(
          '--arch <arch>',
          'for a multi-arch release: which architecture to read (x86_64|amd64, aarch64|arm64, ppc64le, s390x; default x86_64)',
        ),
      )
      .addOption(authfileOption())
      .addOption(insecureRegistryOption())
      .addOption(
        new Option(
          '--cache-dir <dir>',
          'keep manifests and payload files here (shared with `streamguard plan`)',
        ),
      );

  common(
    release
      .command('inspect')
      .description(
        'print a release: version, OS streams, node images and where its boot images exist',
      )
      .argument(
        '<pullspec>',
        'release image, e.g. quay.io/openshift-release-dev/ocp-release:5.0.0-x86_64',
      )
      .addOption(
        new Option('-o, --output <format>', 'output format')
          .choices(['text', 'json'])
          .default('text'),
      ),
  )
    .addHelpText(
      'after',
      "\nReads the release manifest and streams the payload's last layer only until release-manifests/image-references,\nrelease-metadata and the coreos-bootimages ConfigMap have been seen.\n\nExamples:\n  streamguard release inspect quay.io/openshift-release-dev/ocp-release:5.0.0-x86_64\n  streamguard release inspect -o json quay.io/openshift-release-dev/ocp-release:5.0.0-multi --arch aarch64",
    )
    .action((pullspec: string, opts: InspectOptions) => run(runReleaseInspect(pullspec, opts)));

  common(
    release
      .command('fetch')
      .description(
        "write a release's boot images ConfigMap and image-references ImageStream into an offline state directory",
      )
      .argument('<pullspec>', 'release image, exactly as NodePools and HostedClusters name it')
      .requiredOption('--into <dir>', 'the state directory (writes <dir>/releases/<tag>.yaml)')
      .option('--force', "replace a file that holds another release's data", false),
  )
    .addHelpText(
      'after',
      '\nThe objects are annotated streamguard.io/release-image: <pullspec>; the engine matches NodePool release\nimages against that exact text, so give the pullspec the way your NodePools write it.\nWriting is atomic; fetching the same release again changes nothing.\n\nExamples:\n  streamguard release fetch quay.io/openshift-release-dev/ocp-release:5.0.0-x86_64 --into state/\n  streamguard check --state state/ clusters/',
    )
    .action((pullspec: string, opts: FetchOptions) => run(runReleaseFetch(pullspec, opts)));
}

async function read(pullspec: string, flags: ReleaseReadFlags): Promise<ReleaseRead> {
  const client = registryClient(flags);
  try {
    return await readRelease(client, pullspec, {
      withSizes: false,
      ...(flags.arch !== undefined ? { arch: flags.arch } : {}),
      ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
    });
  } catch (error) {
    throw cliError(error, `cannot read release ${pullspec}`);
  } finally {
    await client.close();
  }
}

export async function runReleaseInspect(
  pullspec: string,
  options: InspectOptions,
): Promise<number> {
  const data = await read(pullspec, options);
  const view = releaseView(data);
  process.stdout.write(options.output === 'json' ? renderJson(view) : renderText(view));
  return EXIT.ok;
}

interface ReleaseView {
  data: ReleaseRead;
  releaseVersion: string | undefined;
  catalog: BootImageCatalog | undefined;
  streams: string[];
  nodeImages: { stream: string; os: string | null; extensions: string | null }[];
  coverage: CoverageRow[];
}

function releaseView(data: ReleaseRead): ReleaseView {
  let catalog: BootImageCatalog | undefined;
  let releaseVersion: string | undefined;
  let nodes;
  try {
    if (data.bootImages) {
      const parsed = parseBootImagesConfigMap(
        data.bootImages,
        `coreos-bootimages of ${data.pullspec}`,
      );
      catalog = parsed.catalog;
      releaseVersion = parsed.releaseVersion;
    }
    nodes = nodeImagesFromImageStream(data.imageReferences, `image-references of ${data.pullspec}`);
  } catch (error) {
    if (error instanceof CatalogError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
  const streams = new Set<string>([...(catalog?.streams ?? []), ...nodes.keys()]);
  const sorted = [...streams].sort(compareStreamNames);
  return {
    data,
    releaseVersion,
    catalog,
    streams: sorted,
    nodeImages: [...nodes]
      .sort(([a], [b]) => compareStreamNames(a, b))
      .map(([stream, images]) => ({
        stream,
        os: images.os ?? null,
        extensions: images.extensions ?? null,
      })),
    coverage: catalog ? bootImageCoverage(catalog) : [],
  };
}

function renderJson(view: ReleaseView): string {
  const { data } = view;
  const doc = {
    pullspec: data.pullspec,
    digest: data.digest,
    mediaType: data.mediaType,
    version: data.version,
    arch: data.arch,
    image: data.image,
    releaseVersion: view.releaseVersion ?? null,
    components: data.components.length,
    streams: view.streams,
    multiStream: view.catalog?.multiStream ?? null,
    nodeImages: view.nodeImages,
    bootImages: view.coverage.map((r) => ({
      stream: r.stream,
      platform: r.platform,
      arch: r.arch,
      location: r.location || null,
      image: r.image,
      release: r.release ?? null,
    })),
    scan: data.scan,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function renderText(view: ReleaseView): string {
  const { data } = view;
  const out: string[] = [];
  out.push(
    ...table([
      ['Release', data.pullspec],
      ['Digest', `${data.digest} (${data.mediaType})`],
      ...(data.image.platforms
        ? [
            ['Platforms', data.image.platforms.join(', ')],
            ['Read', `${data.image.arch} release image ${data.image.digest}`],
          ]
        : []),
      ['Version', data.version],
      ['Arch', data.arch],
      ['Components', `${data.components.length} (image-references tags)`],
      ['Streams', view.streams.join(', ') || 'none'],
    ]),
  );
  out.push('', 'Node images:');
  if (view.nodeImages.length === 0) out.push('  none in image-references');
  else {
    const rows: string[][] = [['STREAM', 'ROLE', 'IMAGE']];
    for (const n of view.nodeImages) {
      rows.push([n.stream, 'os', n.os ?? '(missing)']);
      rows.push([n.stream, 'extensions', n.extensions ?? '(missing)']);
    }
    out.push(...table(rows).map((l) => `  ${l}`));
  }
  out.push('');
  if (!view.catalog) {
    out.push('Boot images: the payload has no coreos-bootimages ConfigMap.');
  } else {
    out.push(
      `Boot images (coreos-bootimages${view.releaseVersion ? `, releaseVersion ${view.releaseVersion}` : ''}, ${view.catalog.multiStream ? 'multi-stream "streams" key' : 'legacy "stream" key only'}):`,
    );
    const rows: string[][] = [['STREAM', 'PLATFORM', 'ARCH', 'REGION', 'IMAGE']];
    for (const r of view.coverage)
      rows.push([r.stream, r.platform, r.arch, r.location || '-', r.image]);
    out.push(...table(rows).map((l) => `  ${l}`));
  }
  const s = data.scan;
  out.push(
    '',
    s.fromCache
      ? 'Payload files: from the cache directory (no layer read).'
      : `Payload files: read ${s.layersRead} of ${s.layers} layer(s), ${s.bytesRead} of ${s.layerBytes} compressed bytes downloaded.`,
  );
  return `${out.join('\n')}\n`;
}

/** Columns padded to their widest cell; the last column is not padded. */
function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

export async function runReleaseFetch(pullspec: string, options: FetchOptions): Promise<number> {
  if (options.into.trim() === '') throw new UsageError('--into must name a directory');
  const data = await read(pullspec, options);
  const text = renderReleaseStateFile({
    pullspec,
    digest: data.digest,
    version: data.version,
    imageReferences: data.imageReferences,
    ...(data.bootImages ? { bootImages: data.bootImages } : {}),
  });
  const dir = join(options.into, 'releases');
  const path = join(dir, releaseStateFileName(pullspec, data.digest));
  const existing = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new UsageError(`${path}: cannot read: ${error.code ?? error.message}`);
  });
  if (existing === text) {
    process.stdout.write(`${path} is up to date (${pullspec}, ${data.digest})\n`);
    return EXIT.ok;
  }
  if (existing !== undefined && !options.force)
    refuseOverwrite(path, existing, pullspec, data.digest);
  await mkdir(dir, { recursive: true });
  await writeAtomically(path, text);
  const what = data.bootImages
    ? 'boot images ConfigMap and image-references ImageStream'
    : 'image-references ImageStream (the payload has no coreos-bootimages)';
  process.stdout.write(
    `${existing === undefined ? 'wrote' : 'replaced'} ${path}: ${what} of ${pullspec} (version ${data.version}, ${data.digest})\n`,
  );
  return EXIT.ok;
}

/** Throws unless the file holds this very release (same pullspec and digest: a format update). */
function refuseOverwrite(path: string, existing: string, pullspec: string, digest: string): void {
  let pullspecs: string[];
  try {
    pullspecs = [
      ...new Set(
        parseManifests(existing, path)
          .map((o) => o.metadata?.annotations?.[ANNOTATIONS.releaseImage]?.trim())
          .filter((p): p is string => typeof p === 'string' && p !== ''),
      ),
    ];
  } catch {
    pullspecs = [];
  }
  if (pullspecs.length !== 1 || pullspecs[0] !== pullspec) {
    throw new UsageError(
      `${path} already holds ${pullspecs.length > 0 ? `the release data of ${pullspecs.join(', ')}` : 'something that is not release data of this release'}, not of ${pullspec}; remove it, choose another --into, or use --force`,
    );
  }
  const previous = stateFileDigest(existing);
  if (previous !== digest) {
    throw new UsageError(
      `${path} holds ${pullspec} as ${previous ?? 'an unknown digest'}, but the tag now points at ${digest}; use --force to replace it`,
    );
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  // The temp file is a dot file next to the target (the state loader skips dot files).
  try {
    await writeFileAtomic(path, text);
  } catch (error) {
    throw new UsageError(
      `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}
