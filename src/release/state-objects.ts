// The offline-state objects of one release (pure): the payload's coreos-bootimages ConfigMap and
// its image-references ImageStream, each annotated `streamguard.io/release-image: <pullspec>`,
// which is how src/state recognises release data (state/release-data.ts) and what the engine
// matches NodePool release images against. `release fetch` writes them to one YAML file.

import { stringify } from 'yaml';
import { ANNOTATIONS } from '../engine/types.js';
import { isObject, type ConfigMap, type KubeObject } from '../k8s/objects.js';

export const BOOTIMAGES_NAME = 'coreos-bootimages';
export const BOOTIMAGES_NAMESPACE = 'openshift-machine-config-operator';

export interface ReleaseStateInput {
  /** The pullspec NodePools and HostedClusters name the release by (exactly as they write it). */
  pullspec: string;
  /** The release image's manifest digest. */
  digest: string;
  version: string;
  /** The payload's coreos-bootimages ConfigMap, when it has one. */
  bootImages?: ConfigMap;
  /** The payload's image-references ImageStream. */
  imageReferences: unknown;
}

/** The ConfigMap (when the payload has boot images) and the ImageStream, annotated. */
export function releaseStateObjects(input: ReleaseStateInput): KubeObject[] {
  const objects: KubeObject[] = [];
  if (input.bootImages !== undefined) {
    const data = isObject(input.bootImages.data) ? input.bootImages.data : {};
    const configMap: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: BOOTIMAGES_NAME,
        namespace: BOOTIMAGES_NAMESPACE,
        annotations: { [ANNOTATIONS.releaseImage]: input.pullspec },
      },
      data: { ...(data as Record<string, string>) },
    };
    objects.push(configMap);
  }
  const stream = isObject(input.imageReferences) ? input.imageReferences : {};
  const metadata = isObject(stream.metadata) ? stream.metadata : {};
  const annotations = isObject(metadata.annotations) ? metadata.annotations : {};
  objects.push({
    ...stream,
    apiVersion: typeof stream.apiVersion === 'string' ? stream.apiVersion : 'image.openshift.io/v1',
    kind: 'ImageStream',
    metadata: {
      ...metadata,
      annotations: { ...annotations, [ANNOTATIONS.releaseImage]: input.pullspec },
    },
  } as KubeObject);
  return objects;
}

/**
 * `<tag>.yaml` for a pullspec with a tag (`5.0.0-ec.2-x86_64.yaml`), else `<digest hex>.yaml`.
 * Tags are `[\w][\w.-]*`, so the name is always a plain file name.
 */
export function releaseStateFileName(pullspec: string, digest: string): string {
  const at = pullspec.indexOf('@');
  const name = at < 0 ? pullspec : pullspec.slice(0, at);
  const colon = name.lastIndexOf(':');
  const tag = colon > name.lastIndexOf('/') ? name.slice(colon + 1) : undefined;
  if (tag !== undefined && /^[\w][\w.-]{0,127}$/.test(tag)) return `${tag}.yaml`;
  return `${digest.slice(digest.indexOf(':') + 1)}.yaml`;
}

/** The header line that records which release image (by digest) a state file was written from. */
export const DIGEST_COMMENT = '# release-digest: ';

/** The whole state file: a comment header, then one YAML document per object. */
export function renderReleaseStateFile(input: ReleaseStateInput): string {
  const header = [
    `# Release data of ${input.pullspec}`,
    `# (version ${input.version}), written by \`streamguard release fetch\` from the release payload:`,
    '# its coreos-bootimages ConfigMap and image-references ImageStream, annotated with the',
    '# pullspec NodePools use.',
    `${DIGEST_COMMENT}${input.digest}`,
  ];
  const docs = releaseStateObjects(input).map((obj) =>
    // lineWidth 0: long JSON lines in the ConfigMap's block scalars are never folded.
    stringify(obj, { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false }),
  );
  return `${header.join('\n')}\n---\n${docs.join('---\n')}`;
}

/** The digest a state file says it was written from, if it has the header line. */
export function stateFileDigest(text: string): string | undefined {
  for (const line of text.split('\n', 20)) {
    if (line.startsWith(DIGEST_COMMENT)) return line.slice(DIGEST_COMMENT.length).trim();
  }
  return undefined;
}
