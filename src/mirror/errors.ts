// One error type for input problems of the planner (bad options, inconsistent release data), so
// the CLI can tell a usage or input error (exit 2) from an external failure.

export class PlanError extends Error {
  override readonly name: string = 'PlanError';
}

/** `writePlanDir` refused to replace an existing output without `force`. */
export class PlanExistsError extends PlanError {
  override readonly name: string = 'PlanExistsError';
  readonly path: string;

  constructor(path: string) {
    super(`${path} already exists (use --force to replace it)`);
    this.path = path;
  }
}
