import { lookupBootImage, type BootImageRequest } from '../../catalog/boot-image.js';
import { shorten } from '../text.js';
import type { NodePoolPlatform } from '../../k8s/objects.js';
import { bootImageStream } from '../stream.js';
import { stringOrUndefined, type PoolFacts } from '../facts.js';
import type { Observation, Rule } from './types.js';

/**
 * Nodes boot from the boot image stream's image for the pool's platform, arch and the
 * HostedCluster's region. A missing image leaves the pool stuck with ValidPlatformImage=False
 * after the object is stored; here it is refused with where the stream *is* available.
 */
export const bootImage: Rule = {
  id: 'boot-image',
  ratchet: true,
  check({ next }) {
    const platform = next.pool.spec?.platform ?? {};
    const type = typeof platform.type === 'string' ? platform.type : '';
    const override = overrideField(type, platform);
    if (override || !next.release) return [];
    const stream = bootImageStream({
      crdHasField: next.crdHasField,
      explicit: next.explicit,
      status: next.status,
      effective: next.effective,
    });
    if (!stream) return [];

    const request = bootImageRequest(type, platform, next);
    if ('context' in request) return request.context ? [request.context] : [];
    const catalog = next.release.bootImages;
    // A multi-stream payload that lacks an explicit stream is known-stream's finding; a payload
    // without the `streams` map serves its legacy stream whatever is asked (HyperShift's
    // StreamForName does the same).
    if (catalog.multiStream && next.explicit === stream && !catalog.streams.includes(stream))
      return [];
    const lookupStream = catalog.multiStream ? stream : (catalog.legacy?.name ?? stream);
    const found = lookupBootImage(catalog, lookupStream, request);
    if (found.kind !== 'missing') return [];

    const place = describeRequest(request);
    const alternatives: string[] = [];
    if (found.availableIn.length > 0) {
      alternatives.push(`${lookupStream} has boot images in: ${found.availableIn.join(', ')}`);
    }
    const others = found.otherStreams.filter((s) => s !== lookupStream);
    if (others.length > 0) {
      alternatives.push(
        `${others.join(', ')} ${others.length === 1 ? 'has' : 'have'} one here: pin spec.osImageStream.name: ${others[0]}`,
      );
    }
    alternatives.push(`or set ${OVERRIDE_HINT[type] ?? 'a platform image override'}`);
    return [
      {
        rule: 'boot-image',
        message: `no ${lookupStream} boot image for ${place} in release ${next.release.pullspec} (${found.reason}); ${alternatives.join('; ')}`,
        summary: shorten(`no ${lookupStream} boot image for ${place}`, 100),
      },
    ];
  },
};

const OVERRIDE_HINT: Record<string, string> = {
  AWS: 'spec.platform.aws.ami',
  Azure: 'spec.platform.azure.image (imageID or a full marketplace reference)',
  GCP: 'spec.platform.gcp.image',
  KubeVirt: 'spec.platform.kubevirt.diskImage.containerDiskImage',
  PowerVS: 'spec.platform.powervs.image',
  OpenStack: 'spec.platform.openstack.imageName',
};

/** Every user image override skips the default lookup, as HyperShift does. */
function overrideField(type: string, platform: NodePoolPlatform): boolean {
  switch (type) {
    case 'AWS':
      return nonEmpty(platform.aws?.ami);
    case 'Azure': {
      const image = platform.azure?.image;
      if (image?.type === 'ImageID' || nonEmpty(image?.imageID)) return true;
      const m = image?.azureMarketplace;
      return (
        nonEmpty(m?.publisher) && nonEmpty(m?.offer) && nonEmpty(m?.sku) && nonEmpty(m?.version)
      );
    }
    case 'GCP':
      return nonEmpty(platform.gcp?.image);
    case 'OpenStack':
      return nonEmpty(platform.openstack?.imageName);
    case 'PowerVS':
      return platform.powervs?.image !== undefined && platform.powervs.image !== null;
    case 'KubeVirt':
      return nonEmpty(platform.kubevirt?.diskImage?.containerDiskImage);
    default:
      return false;
  }
}

type RequestOrContext = BootImageRequest | { context: Observation | undefined };

function bootImageRequest(
  type: string,
  platform: NodePoolPlatform,
  next: PoolFacts,
): RequestOrContext {
  const arch = typeof next.pool.spec?.arch === 'string' ? next.pool.spec.arch : 'amd64';
  const hcPlatform = next.hostedCluster?.spec?.platform;
  switch (type) {
    case 'AWS': {
      const region = hcPlatform?.aws?.region;
      if (typeof region !== 'string' || region === '')
        return { context: missingRegion(next, 'AWS') };
      return { platform: 'AWS', arch, region, windows: platform.aws?.imageType === 'Windows' };
    }
    case 'PowerVS': {
      const region = hcPlatform?.powervs?.region;
      if (typeof region !== 'string' || region === '')
        return { context: missingRegion(next, 'PowerVS') };
      return { platform: 'PowerVS', arch, region };
    }
    case 'Azure': {
      // HyperShift defaults Azure nodes to a marketplace image only from OCP 4.20.
      const version = next.release?.version;
      if (!version || version.major < 4 || (version.major === 4 && version.minor < 20)) {
        return { context: undefined };
      }
      const generation =
        platform.azure?.image?.azureMarketplace?.imageGeneration === 'Gen1' ? 'Gen1' : 'Gen2';
      return { platform: 'Azure', arch, azureGeneration: generation };
    }
    default:
      return { platform: type, arch };
  }
}

function missingRegion(next: PoolFacts, platform: string): Observation {
  // Only a string: another value would be stringified (a deeply nested list overflows the stack).
  const cluster = stringOrUndefined(next.pool.spec?.clusterName) ?? '';
  const what = next.hostedCluster
    ? `HostedCluster ${next.namespace}/${cluster} has no ${platform} region`
    : `HostedCluster ${next.namespace}/${cluster} is not known`;
  return {
    rule: 'context',
    message: `${what}: cannot check the ${platform} boot image of NodePool ${next.key}; add the HostedCluster to the state`,
    summary: `${shorten(what, 60)}: boot image not checked`,
  };
}

function describeRequest(req: BootImageRequest): string {
  const parts = [req.platform];
  if (req.region) parts.push(`region ${req.region}`);
  if (req.azureGeneration) parts.push(`generation ${req.azureGeneration}`);
  if (req.windows) parts.push('Windows');
  return `${parts.join(' ')} (${req.arch})`;
}

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value !== '';
}
