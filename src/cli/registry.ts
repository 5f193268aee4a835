// What the registry-reading commands (`release inspect|fetch`, `plan`) share: the client built
// from their flags, and the mapping of failures to exit codes (registry trouble is external, 3;
// a bad reference or an image that is no release payload is the user's input, 2).

import { Option } from 'commander';
import { PlanError } from '../mirror/errors.js';
import { RegistryClient, RegistryError, type RegistryClientOptions } from '../registry/index.js';
import { ExternalError, UsageError } from './exit.js';

export interface RegistryFlags {
  authfile?: string;
  insecureRegistry?: string[];
  concurrency?: number;
  cacheDir?: string;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Repeatable and comma-separated: `--arch x86_64,aarch64` or `--arch x86_64 --arch aarch64`. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== ''),
  ];
}

export function authfileOption(): Option {
  return new Option(
    '--authfile <file>',
    'registry credentials (containers auth.json / docker config.json format; default: $REGISTRY_AUTH_FILE, then the usual places)',
  );
}

export function insecureRegistryOption(): Option {
  return new Option(
    '--insecure-registry <host>',
    'talk plain HTTP to this registry, host[:port] (repeatable)',
  ).argParser(collect);
}

export function registryClient(
  flags: RegistryFlags,
  extra: Partial<RegistryClientOptions> = {},
): RegistryClient {
  return new RegistryClient({
    ...(flags.authfile !== undefined ? { authfile: flags.authfile } : {}),
    insecureRegistries: flags.insecureRegistry ?? [],
    ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
    ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
    userAgent: 'streamguard/0.1',
    ...extra,
  });
}

/** The error as the CLI reports it: UsageError (exit 2) or ExternalError (exit 3). */
export function cliError(error: unknown, context: string): unknown {
  if (error instanceof RegistryError) {
    if (error.code === 'INVALID_REFERENCE') return new UsageError(error.message, { cause: error });
    return new ExternalError(`${context}: ${error.message}${hintFor(error)}`, { cause: error });
  }
  if (error instanceof PlanError) return new UsageError(error.message, { cause: error });
  return error;
}

function hintFor(error: RegistryError): string {
  switch (error.code) {
    case 'UNAUTHORIZED':
    case 'DENIED':
      return '; check the credentials (--authfile)';
    case 'NETWORK':
      return '; is the registry reachable (and does it speak HTTPS, else --insecure-registry)?';
    case 'PLATFORM_NOT_FOUND':
      return '';
    default:
      return '';
  }
}
