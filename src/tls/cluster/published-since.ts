/**
 * Which CAs have been in every webhook configuration for at least `delayMs`, as one replica saw
 * it: the serving certificate moves to a new CA only then, because each API server picks the
 * configuration change up through its own watch, a moment after the write succeeded.
 */
export class PublishedSince {
  private readonly firstSeen = new Map<string, number>();

  constructor(readonly delayMs: number) {}

  /** Records the CA fingerprints published at `now`; returns those published since long enough. */
  observe(published: ReadonlySet<string>, now: number): Set<string> {
    for (const fp of this.firstSeen.keys()) if (!published.has(fp)) this.firstSeen.delete(fp);
    for (const fp of published) if (!this.firstSeen.has(fp)) this.firstSeen.set(fp, now);
    const since = now - this.delayMs;
    return new Set([...this.firstSeen].filter(([, at]) => at <= since).map(([fp]) => fp));
  }
}
