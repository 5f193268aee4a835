// A full, paginated list of one resource. Pages keep each answer small on big clusters; the
// resourceVersion of the list is where a watch resumes.
import type { KubeConfig } from '@kubernetes/client-node';
import { isObject, type KubeObject } from '../k8s/objects.js';
import { serverOf } from './config.js';
import { KubeError } from './errors.js';
import { getJson } from './request.js';
import type { Resource } from './resources.js';

export const PAGE_SIZE = 500;

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
}

export async function listAll(
  kc: KubeConfig,
  resource: Resource,
  prepare: (obj: KubeObject) => KubeObject = (obj) => obj,
): Promise<ListResult> {
  const what = `list ${resource.name}`;
  const items: KubeObject[] = [];
  let resourceVersion = '';
  let next: string | undefined;
  do {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (resource.fieldSelector) query.set('fieldSelector', resource.fieldSelector);
    if (next) query.set('continue', next);
    const page = await getJson(kc, `${resource.path}?${query}`, what);
    if (!isObject(page) || !Array.isArray(page.items)) {
      throw new KubeError(serverOf(kc), what, 'the answer is not a list (no items)');
    }
    for (const item of page.items) {
      if (!isObject(item) || !isObject(item.metadata) || typeof item.metadata.name !== 'string') {
        throw new KubeError(serverOf(kc), what, 'a list item has no metadata.name');
      }
      items.push(prepare(withType(resource, item as KubeObject)));
    }
    const meta = isObject(page.metadata) ? page.metadata : {};
    resourceVersion = typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '';
    next = typeof meta.continue === 'string' && meta.continue !== '' ? meta.continue : undefined;
  } while (next);
  return { items, resourceVersion };
}

/**
 * Restores apiVersion/kind (list items lack them) and drops managedFields, which is often the
 * largest part of an object and nothing streamguard reads.
 */
export function withType(resource: Resource, obj: KubeObject): KubeObject {
  const { managedFields: _managed, ...metadata } = (obj.metadata ?? {}) as Record<string, unknown>;
  return { ...obj, apiVersion: resource.apiVersion, kind: resource.kind, metadata };
}
