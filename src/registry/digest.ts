import { createHash, type Hash } from 'node:crypto';
import { RegistryError, type RegistryErrorInit } from './errors.js';

/** Digest algorithms the client can verify. Anything else is refused rather than trusted. */
export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export const DIGEST_PATTERN = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** Splits `sha256:<hex>`; throws an INVALID_DIGEST RegistryError for anything else. */
export function parseDigest(digest: string, where: RegistryErrorInit = {}): ParsedDigest {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (
    colon < 0 ||
    (algorithm !== 'sha256' && algorithm !== 'sha512') ||
    hex.length !== HEX_LENGTH[algorithm] ||
    !/^[a-f0-9]+$/.test(hex)
  ) {
    throw new RegistryError(`not a sha256/sha512 digest: ${JSON.stringify(digest.slice(0, 80))}`, {
      ...where,
      code: 'INVALID_DIGEST',
    });
  }
  return { algorithm, hex };
}

export function isDigest(value: string): boolean {
  return DIGEST_PATTERN.test(value);
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Incremental digest for streamed bodies. */
export class DigestHasher {
  private readonly hash: Hash;

  constructor(readonly algorithm: DigestAlgorithm = 'sha256') {
    this.hash = createHash(algorithm);
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }

  digest(): string {
    return `${this.algorithm}:${this.hash.digest('hex')}`;
  }
}

/** Throws DIGEST_MISMATCH unless `bytes` hash to `expected` (with `expected`'s algorithm). */
export function verifyDigest(bytes: Uint8Array, expected: string, where: RegistryErrorInit): void {
  const { algorithm } = parseDigest(expected, where);
  const actual = digestOf(bytes, algorithm);
  if (actual !== expected) {
    throw new RegistryError(`content does not match its digest: got ${actual}`, {
      ...where,
      code: 'DIGEST_MISMATCH',
    });
  }
}
