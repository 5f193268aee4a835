// The TLS Secret on the API server: read it, create it if absent, replace it only at the version
// we planned from. Conflicts are results, not errors: the caller re-reads and re-plans.
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeError } from '../../kube/errors.js';
import { serverOf } from '../../kube/config.js';
import { kubeJson, unexpected } from '../../kube/json.js';
import { CA_CRT, CA_KEY, TLS_CRT, TLS_KEY, type TlsSecretData } from './secret-data.js';

const KEYS = [TLS_CRT, TLS_KEY, CA_CRT, CA_KEY] as const;

export interface StoredSecret {
  data: TlsSecretData;
  resourceVersion: string;
  /** The whole object, so a replace keeps labels, annotations and keys that are not ours. */
  object: SecretObject;
}

interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; [key: string]: unknown };
  type?: string;
  data?: Record<string, unknown>;
  [key: string]: unknown;
}

export class TlsSecretStore {
  private readonly path: string;

  constructor(
    private readonly kc: KubeConfig,
    readonly namespace: string,
    readonly name: string,
  ) {
    const ns = encodeURIComponent(namespace);
    this.path = `/api/v1/namespaces/${ns}/secrets`;
  }

  get server(): string {
    return serverOf(this.kc);
  }

  get where(): string {
    return `secret ${this.namespace}/${this.name}`;
  }

  /** The Secret, or undefined when there is none. Never logs or quotes its data. */
  async read(): Promise<StoredSecret | undefined> {
    const what = `get ${this.where}`;
    const answer = await kubeJson(this.kc, 'GET', this.itemPath(), what);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw unexpected(this.kc, what, answer);
    const object = answer.body as SecretObject | undefined;
    const resourceVersion = object?.metadata?.resourceVersion;
    if (typeof resourceVersion !== 'string') {
      throw new KubeError(serverOf(this.kc), what, 'the answer is not a Secret');
    }
    return { data: decode(object?.data), resourceVersion, object: object as SecretObject };
  }

  /** POST; 'exists' when another writer created it first (409 AlreadyExists). */
  async create(data: Required<TlsSecretData>): Promise<'created' | 'exists'> {
    const what = `create ${this.where}`;
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'streamguard' },
      },
      type: 'kubernetes.io/tls',
      data: encode(data),
    };
    const answer = await kubeJson(this.kc, 'POST', this.path, what, body);
    if (answer.status === 201 || answer.status === 200) return 'created';
    if (answer.status === 409) return 'exists';
    throw unexpected(this.kc, what, answer);
  }

  /**
   * PUT at `current.resourceVersion`; 'conflict' when the Secret changed (409) or went away (404)
   * since it was read — either way the caller must read it again.
   */
  async replace(
    current: StoredSecret,
    data: Required<TlsSecretData>,
  ): Promise<'replaced' | 'conflict'> {
    const what = `update ${this.where}`;
    const object = current.object;
    const body = {
      ...object,
      metadata: { ...object.metadata, resourceVersion: current.resourceVersion },
      data: { ...(object.data ?? {}), ...encode(data) },
    };
    const answer = await kubeJson(this.kc, 'PUT', this.itemPath(), what, body);
    if (answer.status === 200) return 'replaced';
    if (answer.status === 409 || answer.status === 404) return 'conflict';
    throw unexpected(this.kc, what, answer);
  }

  private itemPath(): string {
    return `${this.path}/${encodeURIComponent(this.name)}`;
  }
}

/** Our four keys, base64-decoded; a value that is not a string counts as absent. */
function decode(data: Record<string, unknown> | undefined): TlsSecretData {
  const out: TlsSecretData = {};
  for (const key of KEYS) {
    const value = data?.[key];
    if (typeof value === 'string') out[key] = Buffer.from(value, 'base64').toString('utf8');
  }
  return out;
}

function encode(data: Required<TlsSecretData>): Record<string, string> {
  return Object.fromEntries(KEYS.map((key) => [key, Buffer.from(data[key]).toString('base64')]));
}
