// The Dockerfile, read as Docker reads it (no container engine runs here): instructions with
// their continuation lines joined, split into build stages.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { builtinModules } from 'node:module';
import { basename, join } from 'node:path';
import ts from 'typescript';
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

  it('ships production dependencies that cover every package the shipped code imports', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const imports = shippedSources(join(REPO, 'src')).flatMap((file) =>
      runtimeImports(file)
        .map(packageOf)
        .filter((name): name is string => name !== undefined)
        .map((name) => ({ file: file.slice(REPO.length), name })),
    );
    // The scan sees the packages the CLI is built on (it is not vacuous)...
    expect(imports.map((i) => i.name)).toEqual(expect.arrayContaining(['commander', 'yaml']));
    // ...and none of them is a dev dependency, missing from the image.
    const missing = imports.filter((i) => !(i.name in pkg.dependencies));
    expect(missing.map((i) => `${i.file} imports ${i.name}`)).toEqual([]);
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

  // No container engine here: lay out the final stage's /app as its COPY lines say, with the
  // build stage's dist/ compiled afresh (tsconfig.build.json, as `npm run build` does) and this
  // checkout's node_modules for the deps stage, and run the entrypoint from there.
  it('runs from the final stage layout alone', { timeout: 180_000 }, () => {
    const app = mkdtempSync(join(tmpdir(), 'streamguard-image-'));
    try {
      const built = join(app, '.build');
      const tsc = spawnSync(
        process.execPath,
        [
          join(REPO, 'node_modules/typescript/bin/tsc'),
          '-p',
          'tsconfig.build.json',
          '--outDir',
          built,
        ],
        { cwd: REPO, encoding: 'utf8' },
      );
      expect(tsc.stdout, 'the build stage compiles').toBe('');
      const stageOutput: Record<string, string> = {
        '/app/dist': built,
        '/app/node_modules': join(REPO, 'node_modules'),
      };
      for (const copy of finalOps('COPY')) {
        const [from, dest = ''] = copy.args.split(/\s+/).slice(-2);
        // A destination ending in / is a directory to copy into, as Docker reads it.
        const target = join(app, dest, dest.endsWith('/') ? basename(from ?? '') : '');
        mkdirSync(join(target, '..'), { recursive: true });
        if (copy.args.startsWith('--from=')) {
          const output = stageOutput[from ?? ''];
          if (!output) throw new Error(`Dockerfile:${copy.line}: no stand-in for ${from}`);
          symlinkSync(output, target);
        } else {
          cpSync(join(REPO, from ?? ''), target, { recursive: true });
        }
      }
      const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
        bin: Record<string, string>;
      };
      const bin = join(app, pkg.bin.streamguard ?? '');
      // Symlinks kept as paths, so modules and files resolve inside the laid-out /app.
      const run = (args: string[]) =>
        spawnSync(
          process.execPath,
          ['--preserve-symlinks', '--preserve-symlinks-main', bin, ...args],
          {
            cwd: app,
            encoding: 'utf8',
          },
        );
      const entrypoint = JSON.parse(finalOps('ENTRYPOINT')[0]?.args ?? '[]') as string[];
      const help = run([...entrypoint.slice(1), '--help']);
      expect(help.stderr).toBe('');
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/^Usage: streamguard serve/);
      const policy = run(['policy', 'validate', join(app, 'policies/default.yaml')]);
      expect(policy.stderr).toBe('');
      expect(policy.status).toBe(0);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
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

/** The TypeScript files compiled into dist/ (tsconfig.build.json leaves the tests out). */
function shippedSources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return shippedSources(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Module specifiers that survive compilation: type-only imports and exports are erased. */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) {
      out.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
      out.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The npm package a specifier loads, or undefined for relative paths and Node's own modules. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:')) return undefined;
  if (builtinModules.includes(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}
