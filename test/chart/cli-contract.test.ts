// The chart and the examples pass flags to the CLI: every flag they use must be one the real
// command line (src/cli/main.ts) knows, with a value where it takes one.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { REPO, render } from './render.js';

function command(name: string): Command {
  const program = buildProgram(() => {
    throw new Error('parsing options must not run a command');
  });
  const cmd = program.commands.find((c) => c.name() === name);
  if (!cmd) throw new Error(`no "${name}" command`);
  cmd.exitOverride();
  return cmd;
}

/** Parses argv as the command would, without running it. */
function parse(name: string, argv: string[]): { opts: Record<string, unknown>; rest: string[] } {
  const cmd = command(name);
  const { operands, unknown } = cmd.parseOptions(argv);
  return { opts: cmd.opts(), rest: [...operands, ...unknown] };
}

const entrypoint = (): string[] => {
  const line = /^ENTRYPOINT\s+(.*)$/m.exec(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
  return JSON.parse(line?.[1] ?? '[]') as string[];
};

describe('flags the chart passes to `streamguard serve`', () => {
  it.each(['self-managed', 'cert-manager', 'service-ca'])('%s mode', (mode) => {
    const { objects } = render({ values: { tls: { mode }, server: { extraArgs: [] } } });
    const deployment = objects.find((o) => o.kind === 'Deployment');
    const args =
      (deployment?.spec as { template: { spec: { containers: { args: string[] }[] } } }).template
        .spec.containers[0]?.args ?? [];
    const [bin, sub] = entrypoint();
    expect(bin).toBe('streamguard');
    const { opts, rest } = parse(sub ?? '', args);
    expect(rest).toEqual([]);
    expect(opts).toMatchObject({
      inCluster: true,
      policy: '/etc/streamguard/policy/policy.yaml',
      listen: ':8443',
      deadlineMs: 2000,
      drainSeconds: 10,
      releaseCacheDir: '/var/cache/streamguard',
    });
    if (mode === 'self-managed') {
      expect(opts).toMatchObject({
        tlsSecret: 'sg-streamguard-tls',
        tlsNamespace: 'streamguard',
        service: 'sg-streamguard',
        webhookConfiguration: ['sg-streamguard'],
      });
    } else {
      expect(opts).toMatchObject({
        tlsCert: '/etc/streamguard/tls/tls.crt',
        tlsKey: '/etc/streamguard/tls/tls.key',
      });
      expect(opts.tlsSecret).toBeUndefined();
    }
  });

  it('and the image default command', () => {
    const cmd = /^CMD\s+(.*)$/m.exec(readFileSync(join(REPO, 'Dockerfile'), 'utf8'))?.[1];
    const { opts, rest } = parse(entrypoint()[1] ?? '', JSON.parse(cmd ?? '[]') as string[]);
    expect(rest).toEqual([]);
    expect(opts).toMatchObject({ inCluster: true, listen: ':8443' });
  });
});

describe('flags the Argo CD PreSync Job passes to `streamguard check`', () => {
  it('are known to the check command', () => {
    const job = readFileSync(
      join(REPO, 'examples/argocd/nodepools-app/presync/check-job.yaml'),
      'utf8',
    );
    const command = /command: \[streamguard, check, ([^\]]+)\]/.exec(job)?.[1] ?? '';
    const { opts, rest } = parse('check', command.split(/,\s*/));
    expect(opts.inCluster).toBe(true);
    expect(rest).toEqual(['/input']);
  });
});
