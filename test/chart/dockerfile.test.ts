// The Dockerfile, read as Docker reads it (no container engine runs here): instructions with
// their continuation lines joined, split into build stages.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, render } from './render.js';

interface Instruction {
  op: string;
  args: string;
  line: number;
}
interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]}`;
    const m = /^\s*(\w+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile:${start + 1}: cannot read "${line}"`);
    out.push({ op: (m[1] ?? '').toUpperCase(), args: (m[2] ?? '').trim(), line: start + 1 });
  }
  return out;
}

function stages(all: Instruction[]): { args: Record<string, string>; stages: Stage[] } {
  const args: Record<string, string> = {};
  const list: Stage[] = [];
  for (const ins of all) {
    if (ins.op === 'FROM') {
      const [image = '', as, name] = ins.args.split(/\s+/);
      const from = image.replace(/\$\{(\w+)\}/g, (_m, k: string) => args[k] ?? '');
      list.push({
        from,
        ...(as?.toUpperCase() === 'AS' && name ? { name } : {}),
        instructions: [],
      });
    } else if (list.length === 0 && ins.op === 'ARG') {
      const [k = '', v = ''] = ins.args.split('=');
      args[k] = v;
    } else {
      list.at(-1)?.instructions.push(ins);
    }
  }
  return { args, stages: list };
}

describe('Dockerfile', () => {
  const text = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
  const all = instructions(text);
  const { stages: list } = stages(all);
  const final = list.at(-1) as Stage;
  const finalOps = (op: string) => final.instructions.filter((i) => i.op === op);

  it('builds in stages on a small Node 20 base pinned by its full version', () => {
    expect(list.length).toBeGreaterThanOrEqual(2);
    for (const stage of list) {
      expect(stage.from).toMatch(/^node:20\.\d+\.\d+-(bookworm-slim|slim|alpine[\d.]*)$/);
    }
  });

  it('installs production dependencies only, from the lock file, into the final image', () => {
    const prodStage = list.find((s) =>
      s.instructions.some((i) => i.op === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(i.args)),
    );
    expect(prodStage?.name).toBeDefined();
    const copies = finalOps('COPY').map((i) => i.args);
    expect(copies).toContain(`--from=${prodStage?.name} /app/node_modules ./node_modules`);
    // The stage that compiles with dev dependencies contributes dist/ only.
    const fromOthers = copies.filter(
      (c) => c.startsWith('--from=') && !c.startsWith(`--from=${prodStage?.name} `),
    );
    expect(fromOthers.map((c) => c.split(/\s+/)[1])).toEqual(['/app/dist']);
    expect(finalOps('RUN').some((i) => /\bnpm (ci|install)\b/.test(i.args))).toBe(false);
  });

  it('copies into the final image only what the package ships, and all of it exists', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { files: string[] };
    const local = finalOps('COPY')
      .filter((i) => !i.args.startsWith('--from='))
      .map((i) => i.args.split(/\s+/)[0] ?? '');
    for (const path of local) expect(existsSync(join(REPO, path)), path).toBe(true);
    expect(local.filter((p) => p !== 'package.json').sort()).toEqual(
      pkg.files.filter((f) => f !== 'dist').sort(),
    );
  });

  it('runs as a numeric non-root user', () => {
    const users = finalOps('USER');
    expect(users).toHaveLength(1);
    const [uid = '', gid = '0'] = (users[0]?.args ?? '').split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    expect(gid).toMatch(/^\d+$/);
    // The switch comes after every RUN: nothing is left to run as root later.
    const after = final.instructions.slice(final.instructions.indexOf(users[0] as Instruction));
    expect(after.filter((i) => i.op === 'RUN')).toEqual([]);
  });

  it('starts `streamguard serve`, the command the chart passes its flags to', () => {
    const entry = finalOps('ENTRYPOINT');
    expect(entry).toHaveLength(1);
    expect(JSON.parse(entry[0]?.args ?? '')).toEqual(['streamguard', 'serve']);
    // `streamguard` is the package's bin, linked onto PATH.
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    const link = finalOps('RUN').find((i) =>
      /ln -s \S+ \/usr\/local\/bin\/streamguard$/.test(i.args),
    );
    expect(link?.args).toContain(`/app/${pkg.bin.streamguard?.replace(/^\.\//, '')}`);
    const deployment = render().objects.find((o) => o.kind === 'Deployment');
    const args = (deployment?.spec as { template: { spec: { containers: { args: string[] }[] } } })
      .template.spec.containers[0]?.args;
    expect(args?.[0]).toBe('--in-cluster');
    expect(args).not.toContain('serve');
  });

  it('has no HEALTHCHECK (Kubernetes probes) and carries OCI labels', () => {
    expect(all.filter((i) => i.op === 'HEALTHCHECK')).toEqual([]);
    const labels = finalOps('LABEL')
      .map((i) => i.args)
      .join(' ');
    for (const key of ['title', 'description', 'licenses', 'version']) {
      expect(labels).toMatch(new RegExp(`org\\.opencontainers\\.image\\.${key}="[^"]+"`));
    }
  });

  it('keeps the build context small and free of local state', () => {
    const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n');
    for (const path of ['.git', 'node_modules', 'dist', 'test']) expect(ignored).toContain(path);
  });
});
