import { AdmissionInputError } from '../admission/errors.js';
import { CatalogError } from '../catalog/errors.js';
import { CheckInputError, GitError } from '../gitops/errors.js';
import { PolicyError } from '../policy/errors.js';
import { StateError } from '../state/errors.js';

/** Exit codes of every command; when several apply, the highest wins. */
export const EXIT = {
  ok: 0,
  /** Something was denied, or warned with --fail-on-warn. */
  policy: 1,
  /** Usage or input error. */
  input: 2,
  /** An external failure: registry, cluster or git unreachable. */
  external: 3,
} as const;

/** An error the user must fix in what they gave us. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Something outside the input failed (a git command, a registry, a cluster). */
export class ExternalError extends Error {
  override name = 'ExternalError';
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof ExternalError || err instanceof GitError) return EXIT.external;
  if (
    err instanceof UsageError ||
    err instanceof CheckInputError ||
    err instanceof AdmissionInputError ||
    err instanceof StateError ||
    err instanceof PolicyError ||
    err instanceof CatalogError
  ) {
    return EXIT.input;
  }
  return EXIT.external;
}
