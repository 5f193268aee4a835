// @ts-check
// For the server processes of bench/webhook.bench.ts: describes the server for the bench's checks,
// and answers the bench's `usage` requests with
// this process's CPU time (`process.cpuUsage()`, all threads) and memory
// (`process.memoryUsage()`), plus the garbage collector's pauses seen so far (count and total
// time of the `gc` performance entries).
import { PerformanceObserver } from 'node:perf_hooks';
import process from 'node:process';

let gcCount = 0;
let gcMillis = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcCount++;
    gcMillis += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });

/**
 * @param {number | undefined} id
 * @returns {object} the `usage` message for request `id`
 */
export function usage(id) {
  const { user, system } = process.cpuUsage();
  const { rss, heapUsed, heapTotal } = process.memoryUsage();
  return {
    type: 'usage',
    id,
    cpuMicros: user + system,
    rss,
    heapUsed,
    heapTotal,
    gcCount,
    gcMillis,
  };
}

/**
 * The HTTP settings and Node runtime of a server process, for the bench to check that every
 * server runs alike (same timeouts and header limit, no tsx or extra node flags).
 * @param {import('node:https').Server} server
 */
export function serverFacts(server) {
  return {
    http: {
      keepAliveTimeout: server.keepAliveTimeout,
      headersTimeout: server.headersTimeout,
      requestTimeout: server.requestTimeout,
      // Set from the options at construction; not in @types/node.
      maxHeaderSize: Reflect.get(server, 'maxHeaderSize'),
    },
    node: process.version,
    execArgv: process.execArgv,
    nodeOptions: process.env.NODE_OPTIONS ?? '',
  };
}
