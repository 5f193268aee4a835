import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { startRegistry, type RunningRegistry } from './registry.js';
import { pushReleasePayloadTo, type SyntheticRelease } from './release-payload.js';

export interface ProxiedRelease {
  registry: RunningRegistry;
  proxy: FaultProxy;
  payload: SyntheticRelease;
}

/**
 * A registry holding the synthetic release behind a fault proxy. The payload is pushed straight to
 * the registry but names the proxy, so every read of it goes through the proxy (and its faults).
 * What started is stopped again if a later step fails, so a failed setup leaves nothing running.
 */
export async function startProxiedRelease(): Promise<ProxiedRelease> {
  const registry = await startRegistry();
  let proxy: FaultProxy | undefined;
  try {
    proxy = await startFaultProxy(registry.port);
    const payload = await pushReleasePayloadTo(registry.host, { referenceHost: proxy.host });
    return { registry, proxy, payload };
  } catch (err) {
    await proxy?.close();
    await registry.stop();
    throw err;
  }
}
