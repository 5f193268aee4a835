// Parses the `config` value of a NodePool `spec.config` ConfigMap: YAML that may hold several
// Kubernetes manifests (HyperShift splits it into documents the same way).
import { LineCounter, parseAllDocuments } from 'yaml';
import { isObject, type ImageDigestMirrorSet, type KubeObject } from '../k8s/objects.js';
import { BoundedCache } from './cache.js';
import { deepFreeze } from './freeze.js';
import type { ParsedConfig } from './types.js';

export const MCO_API_VERSION = 'machineconfiguration.openshift.io/v1';
export const CONFIG_API_VERSION = 'config.openshift.io/v1';

/** A problem without its `where`, so one cached parse serves ConfigMaps of equal content. */
interface Issue {
  at: string;
  message: string;
}

interface Entry {
  where: string;
  parsed: ParsedConfig;
  issues: readonly Issue[];
}

const cache = new BoundedCache<Entry>(1024, 64 * 1024 * 1024);

/**
 * Parses a ConfigMap's `config` value. Never throws: problems are in `errors`, each prefixed with
 * `where` (e.g. `ConfigMap ns/name key config`). Results are cached by content, so a repeated
 * parse returns the same (frozen) object.
 */
export function parseNodePoolConfig(configYaml: string, where: string): ParsedConfig {
  let entry = cache.get(configYaml);
  if (!entry) {
    const { issues, objects } = parseDocuments(configYaml);
    entry = { where, issues, parsed: classify(objects, render(issues, where)) };
    cache.set(configYaml, entry);
  } else if (entry.where !== where && entry.issues.length > 0) {
    // Same content under another name: the same objects, with errors that name this one.
    const errors = render(entry.issues, where);
    entry = { where, issues: entry.issues, parsed: Object.freeze({ ...entry.parsed, errors }) };
    cache.set(configYaml, entry);
  }
  return entry.parsed;
}

/** For tests and long-running processes that want memory back. */
export function clearConfigCache(): void {
  cache.clear();
}

function render(issues: readonly Issue[], where: string): readonly string[] {
  return Object.freeze(issues.map((i) => `${where}: ${i.at}: ${i.message}`));
}

function parseDocuments(text: string): { issues: Issue[]; objects: KubeObject[] } {
  const issues: Issue[] = [];
  const objects: KubeObject[] = [];
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  docs.forEach((doc, index) => {
    const docAt = `document ${index + 1}`;
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        const { line, col } = lines.linePos(error.pos[0]);
        issues.push({
          at: `line ${line}, column ${col}`,
          message: `invalid YAML: ${error.message}`,
        });
      }
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (error) {
      // e.g. too many alias expansions (a "billion laughs" document).
      issues.push({ at: docAt, message: `invalid YAML: ${(error as Error).message}` });
      return;
    }
    if (value === null || value === undefined) return; // empty document, e.g. a trailing `---`
    if (!isObject(value)) {
      issues.push({ at: docAt, message: 'not a Kubernetes object (expected a mapping)' });
    } else if (typeof value.kind !== 'string' || value.kind === '') {
      issues.push({ at: docAt, message: 'object has no kind' });
    } else {
      objects.push(value as KubeObject);
    }
  });
  return { issues, objects };
}

function classify(objects: KubeObject[], errors: readonly string[]): ParsedConfig {
  const containerRuntimeConfigs: KubeObject[] = [];
  const machineConfigs: KubeObject[] = [];
  const imageDigestMirrorSets: ImageDigestMirrorSet[] = [];
  const others = new Map<string, KubeObject[]>();
  for (const obj of objects) {
    deepFreeze(obj);
    const kind = obj.kind ?? '';
    if (kind === 'ContainerRuntimeConfig' && obj.apiVersion === MCO_API_VERSION) {
      containerRuntimeConfigs.push(obj);
    } else if (kind === 'MachineConfig' && obj.apiVersion === MCO_API_VERSION) {
      machineConfigs.push(obj);
    } else if (kind === 'ImageDigestMirrorSet' && obj.apiVersion === CONFIG_API_VERSION) {
      imageDigestMirrorSets.push(obj);
    } else {
      const list = others.get(kind) ?? [];
      list.push(obj);
      others.set(kind, list);
    }
  }
  for (const list of others.values()) Object.freeze(list);
  return deepFreeze({
    containerRuntimeConfigs,
    machineConfigs,
    imageDigestMirrorSets,
    others,
    errors,
  });
}
