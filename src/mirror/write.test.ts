import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PlanError, PlanExistsError } from './errors.js';
import { nodePlanFs, writePlanDir, type PlanFs } from './write.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'streamguard-write-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const files = new Map([
  ['summary.md', '# plan\n'],
  ['mapping.txt', 'docker://a/b@sha256:x=docker://c/d:e\n'],
  ['idms.yaml', '---\nkind: ImageDigestMirrorSet\n'],
]);

const read = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((n) => [n, readFileSync(join(dir, n), 'utf8')]),
  );

/** A file system that fails the chosen operation (the nth call of it). */
function failing(op: keyof PlanFs, nth = 1): PlanFs {
  let calls = 0;
  const boom = () => {
    calls += 1;
    return calls === nth;
  };
  return {
    ...nodePlanFs,
    async writeFile(path, content) {
      if (op === 'writeFile' && boom()) throw new Error('disk full');
      return nodePlanFs.writeFile(path, content);
    },
    async rename(from, to) {
      if (op === 'rename' && boom()) throw new Error('rename failed');
      return nodePlanFs.rename(from, to);
    },
    async rm(path, options) {
      if (op === 'rm' && boom()) throw new Error('rm failed');
      return nodePlanFs.rm(path, options);
    },
  };
}

describe('writePlanDir', () => {
  it('writes every file into a new directory (creating parents)', async () => {
    const out = join(root, 'plans', '4.12');
    const result = await writePlanDir(out, files);
    expect(result).toEqual({ path: out, replaced: false });
    expect(read(out)).toEqual(Object.fromEntries([...files].sort()));
    expect(readdirSync(join(root, 'plans'))).toEqual(['4.12']);
  });

  it('refuses an existing directory without force, touching nothing', async () => {
    const out = join(root, 'plan');
    mkdirSync(out);
    writeFileSync(join(out, 'old.txt'), 'old');
    await expect(writePlanDir(out, files)).rejects.toBeInstanceOf(PlanExistsError);
    expect(read(out)).toEqual({ 'old.txt': 'old' });
    expect(readdirSync(root)).toEqual(['plan']);
  });

  it('refuses to replace a file, even with force', async () => {
    const out = join(root, 'plan');
    writeFileSync(out, 'not a dir');
    await expect(writePlanDir(out, files, { force: true })).rejects.toThrow(/not a directory/);
    expect(readFileSync(out, 'utf8')).toBe('not a dir');
  });

  it('replaces an existing directory whole with force', async () => {
    const out = join(root, 'plan');
    mkdirSync(out);
    writeFileSync(join(out, 'old.txt'), 'old');
    const result = await writePlanDir(out, files, { force: true });
    expect(result).toEqual({ path: out, replaced: true });
    expect(read(out)).toEqual(Object.fromEntries([...files].sort()));
    expect(readdirSync(root)).toEqual(['plan']);
  });

  it('leaves nothing behind when a file write fails', async () => {
    const out = join(root, 'plan');
    await expect(writePlanDir(out, files, { fs: failing('writeFile', 2) })).rejects.toThrow(
      'disk full',
    );
    expect(readdirSync(root)).toEqual([]);
  });

  it('keeps the old plan when a write fails during a forced replace', async () => {
    const out = join(root, 'plan');
    mkdirSync(out);
    writeFileSync(join(out, 'old.txt'), 'old');
    await expect(
      writePlanDir(out, files, { force: true, fs: failing('writeFile', 3) }),
    ).rejects.toThrow('disk full');
    expect(readdirSync(root)).toEqual(['plan']);
    expect(read(out)).toEqual({ 'old.txt': 'old' });
  });

  it('leaves nothing behind when the final rename fails', async () => {
    const out = join(root, 'plan');
    await expect(writePlanDir(out, files, { fs: failing('rename') })).rejects.toThrow(
      'rename failed',
    );
    expect(readdirSync(root)).toEqual([]);
  });

  it('puts the old plan back when the swap fails', async () => {
    const out = join(root, 'plan');
    mkdirSync(out);
    writeFileSync(join(out, 'old.txt'), 'old');
    // Rename 1 moves the old plan aside, rename 2 (new plan in) fails, rename 3 restores.
    await expect(
      writePlanDir(out, files, { force: true, fs: failing('rename', 2) }),
    ).rejects.toThrow('rename failed');
    expect(readdirSync(root)).toEqual(['plan']);
    expect(read(out)).toEqual({ 'old.txt': 'old' });
  });

  it('reports an old plan it could not remove, with the new plan in place', async () => {
    const out = join(root, 'plan');
    mkdirSync(out);
    const result = await writePlanDir(out, files, { force: true, fs: failing('rm') });
    expect(result.replaced).toBe(true);
    expect(result.leftover).toMatch(/\.plan\.old-/);
    expect(read(out)).toEqual(Object.fromEntries([...files].sort()));
  });

  it('refuses file names that are paths', async () => {
    for (const name of ['../x', 'a/b', '..', '.', '']) {
      await expect(writePlanDir(join(root, 'p'), new Map([[name, 'x']]))).rejects.toBeInstanceOf(
        PlanError,
      );
    }
    expect(readdirSync(root)).toEqual([]);
  });
});
