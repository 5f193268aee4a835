// Parses every `spec.config` ConfigMap of a pool, keeping which ConfigMap each object came from.
import type { ConfigMapLike, ParsedConfig } from './types.js';
import { parseNodePoolConfig } from './parse-config.js';

/** HyperShift reads one key of each ConfigMap (`TokenSecretConfigKey`). */
export const CONFIG_KEY = 'config';

export interface ParsedConfigMap {
  name: string;
  parsed: ParsedConfig;
}

/** ConfigMaps without the key are skipped, as HyperShift does; parse errors go to `errors`. */
export function parseConfigMaps(
  configMaps: readonly ConfigMapLike[],
  errors: string[],
): ParsedConfigMap[] {
  const result: ParsedConfigMap[] = [];
  for (const cm of configMaps) {
    const name = String(cm.name);
    const where = `ConfigMap ${name} key ${CONFIG_KEY}`;
    const data: unknown = cm.data;
    const value =
      typeof data === 'object' && data !== null && Object.hasOwn(data, CONFIG_KEY)
        ? (data as Record<string, unknown>)[CONFIG_KEY]
        : undefined;
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') {
      errors.push(`${where}: not a string`);
      continue;
    }
    const parsed = parseNodePoolConfig(value, where);
    errors.push(...parsed.errors);
    result.push({ name, parsed });
  }
  return result;
}
