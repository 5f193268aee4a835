// Which image references a set of mirror sources covers, with the matching rules of
// containers-registries.conf as OpenShift uses them: a source names a repository or a namespace
// prefix on path boundaries, and `*.example.com` matches any host under the domain.

export function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  // A tag follows the last colon after the last slash (a colon before it is a port).
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(0, colon) : ref;
}

export function digestOf(ref: string): string | undefined {
  const at = ref.indexOf('@');
  return at >= 0 ? ref.slice(at + 1) : undefined;
}

export function sourceCovers(source: string, ref: string): boolean {
  const repo = repositoryOf(ref);
  if (source.startsWith('*.')) {
    const host = repo.split('/', 1)[0] ?? '';
    return host.endsWith(source.slice(1));
  }
  return repo === source || repo.startsWith(`${source}/`);
}

export interface MirrorSource {
  source: string;
  /** Where the source was declared, for messages. */
  from: string;
}

export function coveringSource(
  sources: readonly MirrorSource[],
  ref: string,
): MirrorSource | undefined {
  return sources.find((s) => sourceCovers(s.source, ref));
}
