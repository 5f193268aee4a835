// One error type for every malformed-data problem in release and boot image data, so callers can
// tell "the payload's data is broken" (report it, fall back) from programming errors.

/** Malformed catalog input. `where` names the offending place, e.g. `data.streams["rhel-10"]…`. */
export class CatalogError extends Error {
  override readonly name = 'CatalogError';
  readonly where: string;
  readonly problem: string;

  constructor(where: string, problem: string) {
    super(where ? `${where}: ${problem}` : problem);
    this.where = where;
    this.problem = problem;
  }
}
