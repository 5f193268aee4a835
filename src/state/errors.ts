// Input errors in offline state: bad files, bad objects, conflicting data. The message always
// starts with where the problem is (a file, a document, an object) so a person can fix it.

export class StateError extends Error {
  /** Where the problem is: a path, or `FILE: document N`. */
  readonly where: string;

  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'StateError';
    this.where = where;
  }
}
