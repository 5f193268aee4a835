// Watch streams as the API server's watch cache serves them: a chunked 200 response of
// newline-separated `{"type","object"}` events. An explicit resourceVersion replays the history
// after it (410 Expired as an ERROR event, then the end, when it is older than the history);
// unset or "0" starts with a synthetic ADDED per existing object. Objects that start or stop
// matching the selectors arrive as ADDED or DELETED, and BOOKMARKs carry the current RV.
import type { ServerResponse } from 'node:http';
import type { Matcher } from './selectors.js';
import { groupVersion, type KubeObject, type ResourceType } from './resources.js';
import { asStatus, badRequest } from './status.js';
import type { Store, StoreEvent } from './store.js';

export interface WatchRequest {
  type: ResourceType;
  version: string;
  /** Undefined for all namespaces or a cluster-scoped type. */
  namespace: string | undefined;
  match: Matcher;
  resourceVersion: string | undefined;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  timeoutSeconds: number | undefined;
  /** How objects are shown (a one-row Table when kubectl prints for people); default as is. */
  render?: (obj: KubeObject) => unknown;
}

interface OpenWatch {
  res: ServerResponse;
  close(): void;
}

export class WatchHub {
  private readonly open = new Set<OpenWatch>();

  constructor(
    private readonly store: Store,
    private readonly bookmarkIntervalMs: number,
  ) {}

  get count(): number {
    return this.open.size;
  }

  /** Validates the request (HTTP error if bad), then streams until timeout, close or drop. */
  serve(req: WatchRequest, res: ServerResponse): void {
    const from = parseRv(req.resourceVersion);
    if (req.sendInitialEvents && from !== undefined && from !== 0) {
      throw badRequest('sendInitialEvents is only supported with resourceVersion unset or "0"');
    }
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
    });
    res.flushHeaders();
    const send = (type: string, object: unknown): void => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const bookmark = (annotations?: Record<string, string>): void =>
      send('BOOKMARK', {
        kind: req.type.kind,
        apiVersion: groupVersion(req.type.group, req.version),
        metadata: {
          resourceVersion: String(this.store.resourceVersion),
          ...(annotations ? { annotations } : {}),
        },
      });

    let backlog: StoreEvent[];
    if (from === undefined || from === 0) {
      // Synthetic ADDED for the current state, then live events: nothing can slip in between,
      // because the store is synchronous and we subscribe before returning to the event loop.
      backlog = [];
      for (const obj of this.store.list(req.type, req.namespace)) {
        if (req.match(obj)) send('ADDED', present(obj, req));
      }
      if (req.sendInitialEvents && req.allowBookmarks) {
        bookmark({ 'k8s.io/initial-events-end': 'true' });
      }
    } else {
      try {
        backlog = this.store.eventsSince(from);
      } catch (err) {
        send('ERROR', asStatus(err));
        res.end();
        return;
      }
    }
    for (const event of backlog) this.forward(event, req, send);
    const unsubscribe = this.store.subscribe((event) => this.forward(event, req, send));
    const timers: NodeJS.Timeout[] = [];
    if (req.allowBookmarks) timers.push(setInterval(() => bookmark(), this.bookmarkIntervalMs));
    if (req.timeoutSeconds !== undefined) {
      timers.push(setTimeout(() => watch.close(), req.timeoutSeconds * 1000));
    }
    const watch: OpenWatch = {
      res,
      close: () => {
        unsubscribe();
        for (const t of timers) clearTimeout(t);
        this.open.delete(watch);
        if (!res.writableEnded) res.end();
      },
    };
    this.open.add(watch);
    res.on('close', () => watch.close());
  }

  /** Ends every stream: cleanly (the terminating chunk, as at timeout) or by resetting the socket. */
  dropAll(abrupt: boolean): number {
    const all = [...this.open];
    for (const w of all) {
      if (abrupt) w.res.socket?.destroy();
      w.close();
    }
    return all.length;
  }

  private forward(
    event: StoreEvent,
    req: WatchRequest,
    send: (t: string, o: unknown) => void,
  ): void {
    const { type } = req;
    if (event.resource.group !== type.group || event.resource.plural !== type.plural) return;
    if (req.namespace !== undefined && event.object.metadata?.namespace !== req.namespace) return;
    const now = event.type !== 'DELETED' && req.match(event.object);
    const before = event.old !== undefined && req.match(event.old);
    const object = present(event.object, req);
    if (event.type === 'DELETED') {
      if (before) send('DELETED', object);
    } else if (now && before) {
      send('MODIFIED', object);
    } else if (now) {
      send('ADDED', object);
    } else if (before) {
      send('DELETED', object);
    }
  }
}

/** Watch events always carry kind and apiVersion, in the version the client asked for. */
function present(obj: KubeObject, req: WatchRequest): unknown {
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  const shown = {
    apiVersion: groupVersion(req.type.group, req.version),
    kind: req.type.kind,
    ...rest,
  };
  return req.render ? req.render(shown) : shown;
}

export function parseRv(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw badRequest(`invalid resource version: ${JSON.stringify(raw)}`);
  return Number(raw);
}
