// The check's own errors, so src/gitops does not reach into the CLI: the CLI maps them to exit
// codes (input 2, external 3) like every other module's errors.

/** The manifests or revision the user gave cannot be read as asked. */
export class CheckInputError extends Error {
  override name = 'CheckInputError';
}

/** Git itself failed or is missing. */
export class GitError extends Error {
  override name = 'GitError';
}
