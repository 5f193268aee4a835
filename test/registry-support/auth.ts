import { writeFile } from 'node:fs/promises';
import { startRegistry, type RunningRegistry } from './registry.js';
import { startTokenServer, type TokenServer } from './token-server.js';

/** The `auth` field of a docker config entry: base64 of `user:password`. */
export function basicAuth(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`).toString('base64');
}

/** Writes an auth file (containers-auth.json) giving the same credentials for every host. */
export async function writeAuthFile(
  path: string,
  hosts: string[],
  user: string,
  password: string,
): Promise<string> {
  const auth = basicAuth(user, password);
  await writeFile(
    path,
    JSON.stringify({ auths: Object.fromEntries(hosts.map((h) => [h, { auth }])) }),
  );
  return path;
}

/**
 * A token server for `users` and a registry that trusts it. The token server is closed again if
 * the registry does not start, so a failed setup leaves nothing listening.
 */
export async function startTokenRegistry(
  users: Record<string, string>,
): Promise<{ tokens: TokenServer; registry: RunningRegistry }> {
  const tokens = await startTokenServer({ users });
  try {
    const { realm, service, issuer, certPem } = tokens;
    const registry = await startRegistry({ token: { realm, service, issuer, certPem } });
    return { tokens, registry };
  } catch (err) {
    await tokens.close();
    throw err;
  }
}
