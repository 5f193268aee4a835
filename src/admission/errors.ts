/** An AdmissionReview that cannot be decided on: the webhook answers 400, the CLI exits 2. */
export class AdmissionInputError extends Error {
  constructor(
    readonly where: string,
    readonly detail: string,
  ) {
    super(`${where}: ${detail}`);
    this.name = 'AdmissionInputError';
  }
}
