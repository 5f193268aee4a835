import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certificateSans, normalizeSans, serviceSans } from '../../src/tls/cluster/sans.js';
import { clusterTlsSettings } from '../../src/tls/cluster/settings.js';
import { TlsError } from '../../src/tls/errors.js';

const flags = { secretName: 'streamguard-tls', sans: [], webhookConfigurations: ['streamguard'] };

describe('clusterTlsSettings', () => {
  it('puts the Service names of its namespace into the SANs', () => {
    const settings = clusterTlsSettings(
      { ...flags, service: 'streamguard', sans: ['10.0.0.7'] },
      { podNamespace: 'sg-system' },
    );
    expect(settings).toEqual({
      secretName: 'streamguard-tls',
      namespace: 'sg-system',
      sans: [
        '10.0.0.7',
        'streamguard',
        'streamguard.sg-system',
        'streamguard.sg-system.svc',
        'streamguard.sg-system.svc.cluster.local',
      ],
      webhookConfigurations: ['streamguard'],
    });
  });

  it('takes the namespace from the flag, then POD_NAMESPACE, then the service account file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'streamguard-ns-'));
    try {
      const namespaceFile = join(dir, 'namespace');
      await writeFile(namespaceFile, 'from-file\n');
      const withService = { ...flags, service: 'sg' };
      expect(clusterTlsSettings(withService, { namespaceFile }).namespace).toBe('from-file');
      const env = { namespaceFile, podNamespace: 'from-env' };
      expect(clusterTlsSettings(withService, env).namespace).toBe('from-env');
      expect(clusterTlsSettings({ ...withService, namespace: 'from-flag' }, env).namespace).toBe(
        'from-flag',
      );
      expect(() => clusterTlsSettings(withService, { namespaceFile: join(dir, 'none') })).toThrow(
        /--tls-namespace: not given, POD_NAMESPACE is unset and .* cannot be read/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the flag and the value it refuses', () => {
    const env = { podNamespace: 'sg-system' };
    const cases: [Parameters<typeof clusterTlsSettings>[0], RegExp][] = [
      [
        { ...flags, secretName: 'Bad_Name', service: 's' },
        /^--tls-secret: "Bad_Name" is not a DNS subdomain/,
      ],
      [{ ...flags, namespace: 'a.b', service: 's' }, /^--tls-namespace: "a.b" is not a DNS label/],
      [{ ...flags, service: 'web.hook' }, /^--service: "web.hook" is not a DNS label/],
      [
        { ...flags, service: 's', webhookConfigurations: ['UPPER'] },
        /^--webhook-configuration: "UPPER"/,
      ],
      [{ ...flags }, /^--tls-secret: needs --service NAME or --san/],
      [{ ...flags, sans: ['under_score'] }, /^--san: not a DNS name or IP address: "under_score"/],
    ];
    for (const [given, message] of cases) {
      expect(() => clusterTlsSettings(given, env)).toThrow(TlsError);
      expect(() => clusterTlsSettings(given, env)).toThrow(message);
    }
  });
});

describe('SANs', () => {
  it('compare equal however they were written', () => {
    expect(normalizeSans(['B.example', 'a.example', '0:0::1', 'b.example'], 'test')).toEqual([
      '::1',
      'a.example',
      'b.example',
    ]);
    expect(certificateSans('DNS:B.example, IP Address:0:0:0:0:0:0:0:1, DNS:a.example')).toEqual([
      '::1',
      'a.example',
      'b.example',
    ]);
    expect(serviceSans('sg', 'ns')).toEqual([
      'sg',
      'sg.ns',
      'sg.ns.svc',
      'sg.ns.svc.cluster.local',
    ]);
  });
});
