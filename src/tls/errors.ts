/**
 * A certificate, key or certificate request that cannot be used. `where` is the file (or what was
 * being built); the message never quotes file contents, so it is safe to log even for a key file.
 */
export class TlsError extends Error {
  constructor(
    readonly where: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${where}: ${reason}`, options);
    this.name = 'TlsError';
  }
}
