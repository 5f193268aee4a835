// The MCO's runc check (`DetectRuncInMachineConfig`): CRI-O drop-ins that MachineConfigs write
// under /etc/crio/crio.conf.d/, read in path order; the last non-empty
// `[crio.runtime] default_runtime` wins. HyperShift does not look here; the MCO fails later.
import { parse as parseToml } from 'smol-toml';
import { isObject, type KubeObject } from '../k8s/objects.js';
import { BoundedCache } from './cache.js';
import { readIgnitionContents } from './ignition-contents.js';
import { compareBytes } from './order.js';
import type { RuncSource } from './types.js';

export const CRIO_DROPIN_DIR = '/etc/crio/crio.conf.d/';

export interface OwnedMachineConfig {
  configMap: string;
  machineConfig: KubeObject;
}

export interface CrioDropIn {
  path: string;
  configMap: string;
  machineConfig: string;
  contents: unknown;
}

/**
 * The drop-ins the node would get, sorted by path. MachineConfigs merge in name order, so when
 * two write the same path the later name wins (on equal names, the later one given).
 */
export function collectCrioDropIns(machineConfigs: readonly OwnedMachineConfig[]): CrioDropIn[] {
  const byName = machineConfigs
    .map((owned, index) => ({ owned, index, name: owned.machineConfig.metadata?.name ?? '' }))
    .sort((a, b) => compareBytes(a.name, b.name) || a.index - b.index);
  const byPath = new Map<string, CrioDropIn>();
  for (const { owned, name } of byName) {
    for (const file of ignitionFiles(owned.machineConfig)) {
      if (typeof file.path !== 'string' || !file.path.startsWith(CRIO_DROPIN_DIR)) continue;
      byPath.set(file.path, {
        path: file.path,
        configMap: owned.configMap,
        machineConfig: name,
        contents: file.contents,
      });
    }
  }
  return [...byPath.values()].sort((a, b) => compareBytes(a.path, b.path));
}

function ignitionFiles(mc: KubeObject): Record<string, unknown>[] {
  const spec = (mc as { spec?: unknown }).spec;
  const config = isObject(spec) ? spec.config : undefined;
  const storage = isObject(config) ? config.storage : undefined;
  const files = isObject(storage) ? storage.files : undefined;
  return Array.isArray(files) ? files.filter(isObject) : [];
}

type RuntimeResult = { runtime: string } | { error: string };

// Keyed by compression and source: the same drop-ins are read on every request.
const runtimeCache = new BoundedCache<RuntimeResult>(4096, 16 * 1024 * 1024);

/** The drop-in's `[crio.runtime] default_runtime` ('' when unset), or why it cannot be read. */
export function dropInDefaultRuntime(contents: unknown): RuntimeResult {
  const key = cacheKey(contents);
  const hit = key === undefined ? undefined : runtimeCache.get(key);
  if (hit) return hit;
  const result = readDefaultRuntime(contents);
  if (key !== undefined) runtimeCache.set(key, result);
  return result;
}

function cacheKey(contents: unknown): string | undefined {
  if (!isObject(contents) || typeof contents.source !== 'string') return undefined;
  const { compression } = contents;
  if (compression === undefined || compression === null) return `\n${contents.source}`;
  if (typeof compression !== 'string' || compression.includes('\n')) return undefined;
  return `${compression}\n${contents.source}`;
}

function readDefaultRuntime(contents: unknown): RuntimeResult {
  const read = readIgnitionContents(contents);
  if ('error' in read) return read;
  let toml: Record<string, unknown>;
  try {
    toml = parseToml(read.text);
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? '';
    const { line, column } = error as { line?: number; column?: number };
    const at = line === undefined ? '' : ` at line ${line}, column ${column ?? 0}`;
    return { error: `invalid TOML${at}: ${message.replace(/^Invalid TOML document: /, '')}` };
  }
  const crio = own(toml, 'crio');
  const runtime = isObject(crio) ? own(crio, 'runtime') : undefined;
  const value = isObject(runtime) ? own(runtime, 'default_runtime') : undefined;
  if (value === undefined) return { runtime: '' };
  if (typeof value !== 'string') return { error: '[crio.runtime] default_runtime is not a string' };
  return { runtime: value };
}

function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/**
 * Where the drop-ins make runc the default runtime, if they do. Unreadable files are reported
 * in `errors` and skipped, as if absent.
 */
export function runcFromDropIns(
  dropIns: readonly CrioDropIn[],
  errors: string[],
): RuncSource | undefined {
  let last: { dropIn: CrioDropIn; runtime: string } | undefined;
  for (const dropIn of dropIns) {
    const result = dropInDefaultRuntime(dropIn.contents);
    if ('error' in result) {
      errors.push(
        `ConfigMap ${dropIn.configMap}: MachineConfig ${dropIn.machineConfig}: file ${dropIn.path}: ${result.error}; skipped`,
      );
    } else if (result.runtime !== '') {
      last = { dropIn, runtime: result.runtime };
    }
  }
  if (last?.runtime !== 'runc') return undefined;
  return {
    configMap: last.dropIn.configMap,
    object: `MachineConfig/${last.dropIn.machineConfig}`,
    detail: `file ${last.dropIn.path} [crio.runtime] default_runtime = "runc"`,
  };
}
