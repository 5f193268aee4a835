import { once } from 'node:events';
import type * as fs from 'node:fs';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { writeFileAtomic } from '../fsutil/atomic-write.js';
import { CertificateReloader } from './reloader.js';
import { createCertificateAuthority, issueServingCertificate } from './self-signed.js';
import { withTempDir } from '../../test/support/tls.js';

// fs.watch unavailable (as when inotify watches run out): only the stat poll can see changes.
const watch = vi.hoisted(() =>
  vi.fn(() => {
    throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), {
      code: 'ENOSPC',
    });
  }),
);
vi.mock('node:fs', async (importOriginal) => ({
  ...(await importOriginal<typeof fs>()),
  watch,
}));

it('falls back to the stat poll when fs.watch cannot watch', async () => {
  const ca = createCertificateAuthority();
  const names = { dnsNames: ['localhost'], ipAddresses: [] };
  const [first, second] = [issueServingCertificate(ca, names), issueServingCertificate(ca, names)];
  await withTempDir(async (dir) => {
    const certPath = join(dir, 'tls.crt');
    const keyPath = join(dir, 'tls.key');
    await writeFileAtomic(certPath, first.certPem, 0o644);
    await writeFileAtomic(keyPath, first.keyPem, 0o600);
    const applied: string[] = [];
    const reloader = new CertificateReloader({
      certPath,
      keyPath,
      debounceMs: 20,
      pollMs: 100,
      apply: (pair) => applied.push(pair.certPem),
    });
    await reloader.start();
    try {
      expect(watch).toHaveBeenCalledOnce();
      const reloaded = once(reloader, 'reloaded', { signal: AbortSignal.timeout(5000) });
      await writeFileAtomic(keyPath, second.keyPem, 0o600);
      await writeFileAtomic(certPath, second.certPem, 0o644);
      await reloaded;
      expect(applied).toEqual([first.certPem, second.certPem]);
    } finally {
      reloader.stop();
    }
  });
});
