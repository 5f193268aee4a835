// Shapes shared by the runc detection modules.
import type { ImageDigestMirrorSet, KubeObject } from '../k8s/objects.js';

/** The part of a NodePool `spec.config` ConfigMap that detection reads. */
export interface ConfigMapLike {
  name: string;
  data?: Record<string, string>;
}

/** The objects of one ConfigMap's `config` value, frozen: results are cached and shared. */
export interface ParsedConfig {
  /** `machineconfiguration.openshift.io/v1` ContainerRuntimeConfigs, in document order. */
  readonly containerRuntimeConfigs: readonly KubeObject[];
  /** `machineconfiguration.openshift.io/v1` MachineConfigs, in document order. */
  readonly machineConfigs: readonly KubeObject[];
  /** `config.openshift.io/v1` ImageDigestMirrorSets, in document order. */
  readonly imageDigestMirrorSets: readonly ImageDigestMirrorSet[];
  /** Every other object (including the kinds above under another apiVersion), by kind. */
  readonly others: ReadonlyMap<string, readonly KubeObject[]>;
  /** Problems found (YAML syntax with line/column, documents that are not objects), each with where. */
  readonly errors: readonly string[];
}

/** Where runc was found. */
export interface RuncSource {
  configMap: string;
  /** `kind/name` of the object that sets runc. */
  object: string;
  /** The setting, e.g. `spec.containerRuntimeConfig.defaultRuntime: runc`. */
  detail: string;
}

export interface RuncDetection {
  /** HyperShift's check (`usesRuncRuntime`): a ContainerRuntimeConfig with defaultRuntime runc. */
  containerRuntimeConfig?: RuncSource;
  /** The MCO's check (`DetectRuncInMachineConfig`): CRI-O drop-ins in MachineConfigs. */
  machineConfig?: RuncSource;
  /** Config that could not be read (it is skipped, as the detection cannot see into it). */
  errors: string[];
}
