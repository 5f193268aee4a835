// The cluster as offline state describes it, indexed once so every ClusterView lookup is a map
// hit. Release data (annotated ConfigMaps/ImageStreams) is not part of the cluster: it belongs to
// StateReleaseCatalog, and several releases' `coreos-bootimages` may share a name.
//
// withOverlay runs on the request path (the engine overlays the object under review), so it
// copies the indexes shallowly and re-indexes only what the overlay touches: inventories are not
// re-parsed and referencing lists are re-sorted only for the ConfigMaps involved.

import type { ClusterView } from '../engine/types.js';
import {
  apiGroup,
  isObject,
  type ConfigMap,
  type HostedCluster,
  type ImageDigestMirrorSet,
  type KubeObject,
  type NodePool,
} from '../k8s/objects.js';
import { crdHasOsImageStream, isNodePoolCrd } from './crd.js';
import { StateError } from './errors.js';
import { inventoryDigests, isMirrorInventory } from './mirror-inventory.js';
import { compareStrings } from './order.js';
import { isReleaseData } from './release-data.js';
import { describeObject, formatSource, sourceOf } from './source.js';

const HYPERSHIFT = 'hypershift.openshift.io';

export class ClusterState implements ClusterView {
  /** Named objects by identity, in load order (a replaced object keeps its place). */
  #objects = new Map<string, KubeObject>();
  #unnamed: KubeObject[] = [];
  #hostedClusters = new Map<string, HostedCluster>();
  #nodePools = new Map<string, NodePool>();
  #configMaps = new Map<string, ConfigMap>();
  /** ConfigMap key → NodePools naming it. Arrays are shared with the base until written. */
  #referencing = new Map<string, NodePool[]>();
  #owned = new Set<string>();
  #idms = new Map<string, ImageDigestMirrorSet>();
  #inventories = new Map<string, ReadonlySet<string>>();
  #crdHasOsImageStream = true;
  #mirrored: ReadonlySet<string> | undefined;
  #sortedPools: readonly NodePool[] | undefined;
  #sortedIdms: readonly ImageDigestMirrorSet[] | undefined;

  /** Throws StateError on duplicate identities, unnamed indexed objects or bad inventories. */
  constructor(objects: readonly KubeObject[] = []) {
    for (const obj of objects) {
      if (!isReleaseData(obj)) this.#put(obj, false);
    }
    this.#settle();
  }

  /** A new view in which `objects` replace (same kind/namespace/name) or add to this one's. */
  withOverlay(objects: readonly KubeObject[]): ClusterState {
    const next = new ClusterState();
    next.#copyFrom(this);
    const given = new Map<string, KubeObject>();
    for (const obj of objects) {
      if (isReleaseData(obj)) continue;
      if (obj.metadata?.name) {
        const id = identity(obj);
        const first = given.get(id);
        if (first) throw duplicate(obj, first);
        given.set(id, obj);
      }
      next.#put(obj, true);
    }
    next.#settle();
    return next;
  }

  /** The cluster objects of this view (release data excluded). */
  objects(): readonly KubeObject[] {
    return [...this.#objects.values(), ...this.#unnamed];
  }

  hostedCluster(namespace: string, name: string): HostedCluster | undefined {
    return this.#hostedClusters.get(key(namespace, name));
  }

  nodePool(namespace: string, name: string): NodePool | undefined {
    return this.#nodePools.get(key(namespace, name));
  }

  /** Every NodePool, sorted by namespace then name. */
  nodePools(): readonly NodePool[] {
    this.#sortedPools ??= [...this.#nodePools.entries()]
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([, pool]) => pool);
    return this.#sortedPools;
  }

  configMap(namespace: string, name: string): ConfigMap | undefined {
    return this.#configMaps.get(key(namespace, name));
  }

  nodePoolsReferencing(namespace: string, configMapName: string): readonly NodePool[] {
    return this.#referencing.get(key(namespace, configMapName)) ?? [];
  }

  nodePoolCrdHasOsImageStream(): boolean {
    return this.#crdHasOsImageStream;
  }

  /** Sorted by name. */
  imageDigestMirrorSets(): readonly ImageDigestMirrorSet[] {
    this.#sortedIdms ??= [...this.#idms.entries()]
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([, idms]) => idms);
    return this.#sortedIdms;
  }

  /** Answers from the union of every mirror inventory ConfigMap. */
  mirroredDigest(digest: string): boolean {
    return this.#mirrored?.has(digest.trim()) ?? false;
  }

  #copyFrom(base: ClusterState): void {
    this.#objects = new Map(base.#objects);
    this.#unnamed = [...base.#unnamed];
    this.#hostedClusters = new Map(base.#hostedClusters);
    this.#nodePools = new Map(base.#nodePools);
    this.#configMaps = new Map(base.#configMaps);
    this.#referencing = new Map(base.#referencing);
    this.#idms = new Map(base.#idms);
    this.#inventories = new Map(base.#inventories);
    this.#crdHasOsImageStream = base.#crdHasOsImageStream;
    this.#mirrored = base.#mirrored;
    this.#sortedPools = base.#sortedPools;
    this.#sortedIdms = base.#sortedIdms;
  }

  #put(obj: KubeObject, replace: boolean): void {
    if (!obj.metadata?.name) {
      this.#index(obj);
      this.#unnamed.push(obj);
      return;
    }
    const id = identity(obj);
    const old = this.#objects.get(id);
    if (old && !replace) throw duplicate(obj, old);
    if (old) this.#unindex(old);
    this.#objects.set(id, obj);
    this.#index(obj);
  }

  #index(obj: KubeObject): void {
    const group = apiGroup(obj.apiVersion);
    if (group === HYPERSHIFT && obj.kind === 'HostedCluster') {
      this.#hostedClusters.set(namespacedKey(obj), obj);
    } else if (group === HYPERSHIFT && obj.kind === 'NodePool') {
      const k = namespacedKey(obj);
      this.#nodePools.set(k, obj);
      this.#sortedPools = undefined;
      for (const cm of configRefs(obj)) this.#ownedList(cm).push(obj);
    } else if (group === '' && obj.kind === 'ConfigMap') {
      const k = namespacedKey(obj);
      this.#configMaps.set(k, obj);
      if (isMirrorInventory(obj)) {
        this.#inventories.set(k, new Set(inventoryDigests(obj)));
        this.#mirrored = undefined;
      }
    } else if (isNodePoolCrd(obj)) {
      this.#crdHasOsImageStream = crdHasOsImageStream(obj);
    } else if (group === 'config.openshift.io' && obj.kind === 'ImageDigestMirrorSet') {
      this.#idms.set(obj.metadata?.name ?? '', obj);
      this.#sortedIdms = undefined;
    }
  }

  /** Undoes #index for an object being replaced (it was indexed, so it is well-formed). */
  #unindex(obj: KubeObject): void {
    const group = apiGroup(obj.apiVersion);
    if (group === HYPERSHIFT && obj.kind === 'HostedCluster') {
      this.#hostedClusters.delete(namespacedKey(obj));
    } else if (group === HYPERSHIFT && obj.kind === 'NodePool') {
      this.#nodePools.delete(namespacedKey(obj));
      this.#sortedPools = undefined;
      for (const cm of configRefs(obj)) {
        const list = this.#ownedList(cm);
        list.splice(list.indexOf(obj), 1);
      }
    } else if (group === '' && obj.kind === 'ConfigMap') {
      const k = namespacedKey(obj);
      this.#configMaps.delete(k);
      if (this.#inventories.delete(k)) this.#mirrored = undefined;
    } else if (isNodePoolCrd(obj)) {
      this.#crdHasOsImageStream = true;
    } else if (group === 'config.openshift.io' && obj.kind === 'ImageDigestMirrorSet') {
      this.#idms.delete(obj.metadata?.name ?? '');
      this.#sortedIdms = undefined;
    }
  }

  /** The referencing list for a ConfigMap key, copied first if it is still the base's. */
  #ownedList(cmKey: string): NodePool[] {
    let list = this.#referencing.get(cmKey);
    if (!list || !this.#owned.has(cmKey)) {
      list = [...(list ?? [])];
      this.#referencing.set(cmKey, list);
      this.#owned.add(cmKey);
    }
    return list;
  }

  /** Sorts the lists written since the last settle, once, and builds the mirrored union. */
  #settle(): void {
    for (const cmKey of this.#owned) {
      const list = this.#referencing.get(cmKey) ?? [];
      if (list.length === 0) this.#referencing.delete(cmKey);
      else list.sort((a, b) => compareStrings(a.metadata?.name ?? '', b.metadata?.name ?? ''));
    }
    this.#owned.clear();
    if (!this.#mirrored) {
      const union = new Set<string>();
      for (const digests of this.#inventories.values()) for (const d of digests) union.add(d);
      this.#mirrored = union;
    }
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Indexed kinds are namespaced; without a namespace the object could not be looked up. */
function namespacedKey(obj: KubeObject): string {
  const { name, namespace } = obj.metadata ?? {};
  if (!name || !namespace) {
    throw new StateError(describeObject(obj), 'needs metadata.name and metadata.namespace');
  }
  return key(namespace, name);
}

/** Keys of the ConfigMaps a NodePool's `spec.config` names (same namespace), each once. */
function configRefs(pool: NodePool): string[] {
  const config: unknown = pool.spec?.config;
  if (!Array.isArray(config)) return [];
  const namespace = pool.metadata?.namespace ?? '';
  const names = config.flatMap((ref: unknown) =>
    isObject(ref) && typeof ref.name === 'string' && ref.name !== '' ? [ref.name] : [],
  );
  return [...new Set(names)].map((name) => key(namespace, name));
}

/** The identity Kubernetes gives an object: group, kind, namespace, name (not the version). */
function identity(obj: KubeObject): string {
  const { name, namespace } = obj.metadata ?? {};
  return `${apiGroup(obj.apiVersion)}|${obj.kind ?? ''}|${namespace ?? ''}|${name ?? ''}`;
}

function duplicate(obj: KubeObject, first: KubeObject): StateError {
  const source = sourceOf(first);
  const firstWhere = source ? formatSource(source) : 'an object given in memory';
  return new StateError(
    describeObject(obj),
    `duplicate object: also defined in ${firstWhere} (each kind/namespace/name may appear once)`,
  );
}
