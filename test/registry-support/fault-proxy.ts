import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP proxy in front of a test registry that injects faults into chosen requests.
 * The Host header is passed through unchanged, so the registry builds upload Locations that point
 * back at the proxy.
 */
export type Fault =
  /** Answer with this status instead of forwarding (e.g. 429 + Retry-After, 503). */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Close the connection without answering (the client sees a reset). */
  | { kind: 'reset' }
  /** Forward the headers (Content-Length included), send `bytes` of the body, then cut the connection. */
  | { kind: 'truncate'; bytes: number }
  /** A well-formed short answer: Content-Length rewritten to `bytes` and only those bytes sent. */
  | { kind: 'short'; bytes: number }
  /** Same length, one byte flipped: wrong content for the digest. */
  | { kind: 'corrupt' }
  /** Different bytes and headers of our choosing, status kept. */
  | { kind: 'replace'; body: Buffer; headers?: Record<string, string> }
  /** Hold the request `ms` before forwarding (to trip timeouts, or to overlap requests). */
  | { kind: 'delay'; ms: number }
  /** Answer `status` (default 307) with `Location: <location>`. */
  | { kind: 'redirect'; location: string; status?: number }
  /** Forward the headers, then the body `chunkBytes` at a time, one chunk every `everyMs` (a slow link). */
  | { kind: 'trickle'; chunkBytes: number; everyMs: number }
  /** Forward the headers and `bytes` of the body, then send nothing more, keeping the connection open. */
  | { kind: 'stall'; bytes: number }
  /** Forward untouched (after `delayMs`, if given), once `run` has been called (to change the world at a chosen request). */
  | { kind: 'tap'; run: (record: ProxyRecord) => void; delayMs?: number };

export interface FaultRule {
  method?: string;
  path: RegExp;
  /** How many matching requests get the fault (default: all). */
  times?: number;
  fault: Fault;
}

export interface ProxyRecord {
  method: string;
  path: string;
  status: number | undefined;
  fault: Fault['kind'] | undefined;
  /** Body bytes sent to the client. */
  bytesSent: number;
  /** Whether the request carried an Authorization header (its value is never kept). */
  authorization: boolean;
  /** When the request arrived (ms since the epoch). */
  at: number;
}

export interface FaultProxy {
  host: string;
  url: string;
  port: number;
  requests: ProxyRecord[];
  /** Most requests in flight at once since the start or the last {@link resetMaxInflight}. */
  maxInflight(): number;
  resetMaxInflight(): void;
  addRule(rule: FaultRule): void;
  clearRules(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(upstreamPort: number): Promise<FaultProxy> {
  const rules: { rule: FaultRule; left: number }[] = [];
  const requests: ProxyRecord[] = [];
  let inflight = 0;
  let maxInflight = 0;

  const pick = (req: IncomingMessage): Fault | undefined => {
    for (const entry of rules) {
      if (entry.left <= 0) continue;
      if (entry.rule.method !== undefined && entry.rule.method !== req.method) continue;
      if (!entry.rule.path.test(req.url ?? '')) continue;
      entry.left--;
      return entry.rule.fault;
    }
    return undefined;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    inflight++;
    maxInflight = Math.max(maxInflight, inflight);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      inflight--;
    };
    res.once('close', finish);
    const fault = pick(req);
    const record: ProxyRecord = {
      method: req.method ?? '',
      path: req.url ?? '',
      status: undefined,
      fault: fault?.kind,
      bytesSent: 0,
      authorization: req.headers.authorization !== undefined,
      at: Date.now(),
    };
    requests.push(record);

    if (fault?.kind === 'status') {
      req.resume();
      record.status = fault.status;
      const body = fault.body ?? '';
      res.writeHead(fault.status, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        ...fault.headers,
      });
      res.end(body);
      record.bytesSent = Buffer.byteLength(body);
      return;
    }
    if (fault?.kind === 'redirect') {
      req.resume();
      record.status = fault.status ?? 307;
      res.writeHead(record.status, { location: fault.location, 'content-length': '0' });
      res.end();
      return;
    }
    if (fault?.kind === 'reset') {
      req.resume();
      req.socket.destroy();
      return;
    }
    const forward = () => {
      const upstream = httpRequest(
        {
          host: '127.0.0.1',
          port: upstreamPort,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (upRes) => respond(upRes, res, fault, record),
      );
      upstream.on('error', () => req.socket.destroy());
      req.pipe(upstream);
    };
    if (fault?.kind === 'tap') fault.run(record);
    if (fault?.kind === 'delay') setTimeout(forward, fault.ms);
    else if (fault?.kind === 'tap' && fault.delayMs !== undefined)
      setTimeout(forward, fault.delayMs);
    else forward();
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    maxInflight: () => maxInflight,
    resetMaxInflight() {
      maxInflight = inflight;
    },
    addRule(rule) {
      rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
    },
    clearRules() {
      rules.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function respond(
  upRes: IncomingMessage,
  res: ServerResponse,
  fault: Fault | undefined,
  record: ProxyRecord,
): void {
  const status = upRes.statusCode ?? 502;
  record.status = status;
  const headers: IncomingHttpHeaders = { ...upRes.headers };
  if (
    fault === undefined ||
    fault.kind === 'delay' ||
    fault.kind === 'redirect' ||
    fault.kind === 'tap'
  ) {
    res.writeHead(status, headers);
    upRes.on('data', (chunk: Buffer) => {
      record.bytesSent += chunk.length;
    });
    upRes.pipe(res);
    return;
  }
  if (fault.kind === 'truncate') {
    res.writeHead(status, headers);
    let left = fault.bytes;
    upRes.on('data', (chunk: Buffer) => {
      if (left <= 0) return;
      const part = chunk.subarray(0, left);
      left -= part.length;
      record.bytesSent += part.length;
      res.write(part);
      if (left <= 0) {
        upRes.destroy();
        // Let the bytes leave before cutting the connection.
        setTimeout(() => res.socket?.destroy(), 20);
      }
    });
    upRes.on('end', () => res.socket?.destroy());
    return;
  }
  if (fault.kind === 'stall') {
    res.writeHead(status, headers);
    let left = fault.bytes;
    upRes.on('data', (chunk: Buffer) => {
      const part = chunk.subarray(0, Math.max(0, left));
      left -= part.length;
      record.bytesSent += part.length;
      if (part.length > 0) res.write(part);
    });
    // The rest never comes; the connection stays open until the client (or close()) ends it.
    return;
  }
  const chunks: Buffer[] = [];
  upRes.on('data', (chunk: Buffer) => chunks.push(chunk));
  upRes.on('end', () => {
    if (fault.kind === 'trickle') {
      const body = Buffer.concat(chunks);
      res.writeHead(status, headers);
      let at = 0;
      const next = () => {
        if (res.destroyed) return;
        const part = body.subarray(at, at + fault.chunkBytes);
        at += part.length;
        record.bytesSent += part.length;
        if (at >= body.length) res.end(part);
        else res.write(part, () => setTimeout(next, fault.everyMs));
      };
      next();
      return;
    }
    let body: Buffer = Buffer.concat(chunks);
    delete headers['transfer-encoding'];
    if (fault.kind === 'short') {
      body = body.subarray(0, fault.bytes);
    } else if (fault.kind === 'corrupt') {
      body = Buffer.from(body);
      const at = Math.floor(body.length / 2);
      if (body.length > 0) body[at] = (body[at] ?? 0) ^ 0x01;
    } else if (fault.kind === 'replace') {
      body = fault.body;
      Object.assign(headers, fault.headers);
    }
    headers['content-length'] = String(body.length);
    res.writeHead(status, headers);
    record.bytesSent = body.length;
    res.end(body);
  });
}
