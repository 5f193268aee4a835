// The slices of Kubernetes and HyperShift objects that streamguard reads. Objects arrive as
// untrusted JSON, so every field is optional here and read through the accessors below.

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface LocalObjectReference {
  name?: string;
}

export interface NodePoolSpec {
  clusterName?: string;
  release?: { image?: string };
  arch?: string;
  management?: { upgradeType?: string };
  config?: LocalObjectReference[];
  osImageStream?: { name?: string };
  platform?: NodePoolPlatform;
  [key: string]: unknown;
}

export interface NodePoolPlatform {
  type?: string;
  aws?: { ami?: string; imageType?: string; [key: string]: unknown };
  azure?: {
    image?: {
      type?: string;
      imageID?: string;
      azureMarketplace?: {
        imageGeneration?: string;
        publisher?: string;
        offer?: string;
        sku?: string;
        version?: string;
      };
    };
    [key: string]: unknown;
  };
  gcp?: { image?: string; [key: string]: unknown };
  openstack?: { imageName?: string; [key: string]: unknown };
  powervs?: { image?: unknown; [key: string]: unknown };
  kubevirt?: { diskImage?: { containerDiskImage?: string }; [key: string]: unknown };
  [key: string]: unknown;
}

export interface NodePool extends KubeObject {
  spec?: NodePoolSpec;
  status?: { osImageStream?: { name?: string }; [key: string]: unknown };
}

export interface ImageContentSource {
  source?: string;
  mirrors?: string[];
}

export interface HostedCluster extends KubeObject {
  spec?: {
    release?: { image?: string };
    platform?: {
      type?: string;
      aws?: { region?: string };
      azure?: { location?: string };
      gcp?: { region?: string };
      powervs?: { region?: string; zone?: string };
      [key: string]: unknown;
    };
    imageContentSources?: ImageContentSource[];
    [key: string]: unknown;
  };
}

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export interface ImageDigestMirrorSet extends KubeObject {
  spec?: {
    imageDigestMirrors?: { source?: string; mirrors?: string[]; mirrorSourcePolicy?: string }[];
  };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name ?? ''}` : (obj.metadata?.name ?? '');
}

export function annotation(obj: KubeObject | undefined, key: string): string | undefined {
  const value = obj?.metadata?.annotations?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** API group of an apiVersion (`hypershift.openshift.io/v1beta1` → `hypershift.openshift.io`). */
export function apiGroup(apiVersion: string | undefined): string {
  if (!apiVersion) return '';
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}
