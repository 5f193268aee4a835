// Every problem of a policy file at once, so a user fixes them in one pass.

export class PolicyError extends Error {
  override readonly name = 'PolicyError';

  /** One line per problem, `FILE: PATH: what is expected` (or `FILE:LINE:COL: …` for YAML). */
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}
