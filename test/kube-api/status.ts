// Status objects exactly as the API server writes them (k8s.io/apimachinery/pkg/api/errors), so a
// client's error handling meets the real shapes: kind Status, apiVersion v1, reason, code, details.

export interface StatusDetails {
  name?: string;
  group?: string;
  /** The real API puts the resource (plural) here for object errors, not the Kind. */
  kind?: string;
  uid?: string;
  causes?: { reason: string; message: string; field?: string }[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error that the HTTP layer answers with its Status and code. */
export class ApiError extends Error {
  constructor(readonly status: Status) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
  }
}

export function failure(
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details === undefined ? {} : { details }),
    code,
  };
}

/** The qualified resource as errors print it: `configmaps`, `nodepools.hypershift.openshift.io`. */
export interface Qualified {
  group: string;
  plural: string;
}

function qualified(r: Qualified): string {
  return r.group === '' ? r.plural : `${r.plural}.${r.group}`;
}

function objectDetails(r: Qualified, name: string): StatusDetails {
  return { name, ...(r.group === '' ? {} : { group: r.group }), kind: r.plural };
}

export const notFound = (r: Qualified, name: string): ApiError =>
  new ApiError(
    failure(404, 'NotFound', `${qualified(r)} "${name}" not found`, objectDetails(r, name)),
  );

export const alreadyExists = (r: Qualified, name: string): ApiError =>
  new ApiError(
    failure(
      409,
      'AlreadyExists',
      `${qualified(r)} "${name}" already exists`,
      objectDetails(r, name),
    ),
  );

/** What optimistic concurrency answers to a stale metadata.resourceVersion. */
export const conflict = (r: Qualified, name: string): ApiError =>
  new ApiError(
    failure(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(r)} "${name}": the object has been modified; ` +
        'please apply your changes to the latest version and try again',
      objectDetails(r, name),
    ),
  );

export const badRequest = (message: string): ApiError =>
  new ApiError(failure(400, 'BadRequest', message));

/** 422 with one cause, as field validation reports it (`Kind "name" is invalid: field: msg`). */
export function invalid(
  kind: string,
  group: string,
  name: string,
  field: string,
  causeReason: string,
  message: string,
): ApiError {
  return invalidFields(kind, group, name, [{ field, reason: causeReason, detail: message }]);
}

/** 422 Invalid with every field error; the message lists them in brackets when more than one. */
export function invalidFields(
  kind: string,
  group: string,
  name: string,
  errors: { field: string; reason: string; detail: string }[],
): ApiError {
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  const each = errors.map((e) => `${e.field}: ${e.detail}`);
  const list = each.length === 1 ? each[0] : `[${each.join(', ')}]`;
  return new ApiError(
    failure(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${list}`, {
      name,
      ...(group === '' ? {} : { group }),
      kind,
      causes: errors.map((e) => ({ reason: e.reason, message: e.detail, field: e.field })),
    }),
  );
}

export const resourceNotFound = (): ApiError =>
  new ApiError(failure(404, 'NotFound', 'the server could not find the requested resource', {}));

export const methodNotAllowed = (): ApiError =>
  new ApiError(
    failure(
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
      {},
    ),
  );

export const unauthorized = (): Status => failure(401, 'Unauthorized', 'Unauthorized');

/** The watch ERROR event and list answer for a resourceVersion older than the history. */
export const expired = (requested: number, oldest: number): Status =>
  failure(410, 'Expired', `too old resource version: ${requested} (${oldest})`);

export function asStatus(err: unknown): Status {
  if (err instanceof ApiError) return err.status;
  const message = err instanceof Error ? err.message : String(err);
  return failure(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ reason: 'UnexpectedServerResponse', message }],
  });
}
