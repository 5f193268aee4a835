// Server-side printing: the meta.k8s.io Table kubectl asks for (`Accept: ...;as=Table;g=meta.k8s.io`)
// when it prints for people. Custom resources use their CRD's additionalPrinterColumns (JSONPath,
// first result, as the apiextensions table convertor does; NAME and AGE when there are none);
// built-ins get the columns of Kubernetes' own printers. Rows carry PartialObjectMetadata, which
// kubectl uses for the NAMESPACE column and --show-labels.
import { isRecord, type KubeObject, type ResourceType } from './resources.js';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
  cell: (obj: KubeObject) => unknown;
}

export const TABLE_V1 = 'application/json;as=Table;v=v1;g=meta.k8s.io';

export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => {
    const p = part.replace(/\s/g, '');
    return p.includes('as=Table') && p.includes('g=meta.k8s.io') && p.includes('v=v1');
  });
}

const NAME: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (o) => o.metadata?.name,
};

const age = (name = 'Age'): Column => ({
  name,
  type: 'string',
  format: '',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: (o) => humanAge(o.metadata?.creationTimestamp),
});

const count = (name: string, of: (o: KubeObject) => unknown[]): Column => ({
  name,
  type: 'integer',
  format: '',
  description: name,
  priority: 0,
  cell: (o) => of(o).length,
});

const keys = (v: unknown): unknown[] => (isRecord(v) ? Object.keys(v) : []);

const BUILTIN_COLUMNS: Record<string, Column[]> = {
  configmaps: [NAME, count('Data', (o) => [...keys(o.data), ...keys(o.binaryData)]), age()],
  secrets: [
    NAME,
    {
      ...NAME,
      name: 'Type',
      format: '',
      description: 'The type of the secret',
      cell: (o) => o.type,
    },
    count('Data', (o) => keys(o.data)),
    age(),
  ],
  namespaces: [
    NAME,
    {
      ...NAME,
      name: 'Status',
      format: '',
      description: 'The status of the namespace',
      cell: (o) => (isRecord(o.status) && o.status.phase) || 'Active',
    },
    age(),
  ],
  validatingwebhookconfigurations: [
    NAME,
    count('Webhooks', (o) => (Array.isArray(o.webhooks) ? o.webhooks : [])),
    age(),
  ],
  mutatingwebhookconfigurations: [
    NAME,
    count('Webhooks', (o) => (Array.isArray(o.webhooks) ? o.webhooks : [])),
    age(),
  ],
  customresourcedefinitions: [
    NAME,
    {
      ...NAME,
      name: 'Created At',
      type: 'date',
      format: '',
      description: 'Created At',
      cell: (o) => o.metadata?.creationTimestamp,
    },
  ],
};

/** The columns for a type: a CRD version's printer columns, or the built-in printer's. */
export function columnsFor(
  type: ResourceType,
  crd: KubeObject | undefined,
  version: string,
): Column[] {
  const builtin = BUILTIN_COLUMNS[type.plural];
  if (type.builtin && builtin) return builtin;
  const versions =
    (crd?.spec as { versions?: Record<string, unknown>[] } | undefined)?.versions ?? [];
  const printer = versions.find((v) => v.name === version)?.additionalPrinterColumns;
  if (!Array.isArray(printer) || printer.length === 0) return [NAME, age()];
  return [
    NAME,
    ...printer.filter(isRecord).map((c): Column => {
      const path = parseJsonPath(String(c.jsonPath ?? ''));
      const ctype = String(c.type ?? 'string');
      return {
        name: String(c.name ?? ''),
        type: ctype,
        format: String(c.format ?? ''),
        description: String(c.description ?? ''),
        priority: Number(c.priority ?? 0),
        cell: (o) => {
          const value = path(o);
          if (value === undefined) return null;
          if (ctype === 'date') return humanAge(value);
          if (ctype === 'string') return typeof value === 'string' ? value : JSON.stringify(value);
          return value;
        },
      };
    }),
  ];
}

export function table(
  columns: Column[],
  objects: KubeObject[],
  metadata: Record<string, unknown>,
  includeObject: string | null,
): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: columns.map(({ cell: _c, ...def }) => def),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o) ?? null),
      ...(includeObject === 'None'
        ? {}
        : {
            object:
              includeObject === 'Object'
                ? o
                : {
                    kind: 'PartialObjectMetadata',
                    apiVersion: 'meta.k8s.io/v1',
                    metadata: o.metadata,
                  },
          }),
    })),
  };
}

/**
 * The JSONPath subset printer columns use: `.a.b`, `.a[0]`, `.a[*].b` and filters
 * `[?(@.k=="v")]` / `[?(@.k!="v")]`. Returns the first result, or undefined.
 */
export function parseJsonPath(expression: string): (obj: unknown) => unknown {
  const steps: ((values: unknown[]) => unknown[])[] = [];
  const re =
    /\.([A-Za-z0-9_-]+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*(==|!=)\s*"([^"]*)"\)\]/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < expression.length && (m = re.exec(expression)) !== null) {
    at = re.lastIndex;
    const [, field, index, filterKey, op, filterValue] = m;
    if (field !== undefined) {
      steps.push((vs) =>
        vs.flatMap((v) => (isRecord(v) && v[field] !== undefined ? [v[field]] : [])),
      );
    } else if (index !== undefined) {
      steps.push((vs) =>
        vs.flatMap((v) =>
          !Array.isArray(v)
            ? []
            : index === '*'
              ? v
              : v[Number(index)] === undefined
                ? []
                : [v[Number(index)]],
        ),
      );
    } else if (filterKey !== undefined) {
      const get = (item: unknown) =>
        filterKey
          .split('.')
          .reduce<unknown>((acc, k) => (isRecord(acc) ? acc[k] : undefined), item);
      steps.push((vs) =>
        vs
          .flatMap((v) => (Array.isArray(v) ? v : []))
          .filter((item) =>
            op === '=='
              ? get(item) === filterValue
              : get(item) !== undefined && get(item) !== filterValue,
          ),
      );
    }
  }
  if (at !== expression.length)
    throw new Error(`unsupported JSONPath in a printer column: ${expression}`);
  return (obj) => steps.reduce<unknown[]>((vs, step) => step(vs), [obj])[0];
}

/** k8s.io/apimachinery duration.HumanDuration of the time since `timestamp`. */
export function humanAge(timestamp: unknown, now = Date.now()): string | null {
  if (typeof timestamp !== 'string') return null;
  const seconds = Math.floor((now - Date.parse(timestamp)) / 1000);
  if (Number.isNaN(seconds)) return null;
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0
      ? `${Math.floor(hours / 24)}d`
      : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24);
    return days % 365 === 0
      ? `${Math.floor(days / 365)}y`
      : `${Math.floor(days / 365)}y${days % 365}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}
