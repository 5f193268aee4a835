import { readFile } from 'node:fs/promises';
import { afterEach, expect, it } from 'vitest';
import { statusFor, type KubeApi } from '../kube-api/server.js';
import { waitFor } from '../kube-api/support.js';
import { closeReplicas, replica, secretData, startApi, type Replica } from './support.js';
import { DAY } from './trust.js';

let api: KubeApi | undefined;
let replicas: Replica[] = [];

afterEach(async () => {
  await closeReplicas(replicas);
  replicas = [];
  await api?.close();
  api = undefined;
});

it("takes another replica's renewal through the watch, without its own re-check", async () => {
  api = await startApi();
  let now = Date.now();
  const writer = await replica(api, { clock: () => now });
  const watcher = await replica(api, { clock: () => now, watch: true });
  replicas.push(writer, watcher);
  await writer.tls.start();
  await watcher.tls.start();
  await waitFor('the watch to be open', () => (api as KubeApi).openWatches() === 1);
  const first = await readFile(watcher.tls.files.certPath, 'utf8');

  now += 300 * DAY; // the serving certificate is due
  await writer.tls.sync();
  const renewed = secretData(api)['tls.crt'];
  expect(renewed).not.toBe(first);
  await waitFor('the watcher to write the renewed certificate', async () => {
    return (await readFile(watcher.tls.files.certPath, 'utf8')) === renewed;
  });
  expect(watcher.logs.lines().filter((l) => l.msg === 'TLS Secret written')).toEqual([]);

  // Watches cut, history compacted: the watcher resumes (afresh after 410) and still follows.
  for (const disruption of ['cut', 'compacted'] as const) {
    if (disruption === 'compacted') api.compact();
    api.dropWatches({ abrupt: disruption === 'cut' });
    await waitFor('the watch to be back', () => (api as KubeApi).openWatches() === 1);
    now += 300 * DAY;
    await writer.tls.sync();
    const next = secretData(api)['tls.crt'];
    await waitFor(`the watcher to follow after the watch was ${disruption}`, async () => {
      return (await readFile(watcher.tls.files.certPath, 'utf8')) === next;
    });
  }
});

it('falls back to the periodic re-check when it may not watch the Secret', async () => {
  api = await startApi();
  api.failNext(1, {
    status: statusFor(403, 'Forbidden', 'secrets is forbidden: cannot watch'),
    match: (r) => r.query.watch === '1',
  });
  const r = await replica(api, { watch: true });
  replicas.push(r);
  await r.tls.start();
  await waitFor('the fallback to be logged', () =>
    r.logs
      .lines()
      .some(
        (l) => l.msg === 'no permission to watch the TLS Secret; relying on the periodic re-check',
      ),
  );
  expect((api as KubeApi).openWatches()).toBe(0);
  expect(r.tls.published()).toBe(true);
});
