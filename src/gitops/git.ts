// Reads a file as it was at a Git revision (`git show REV:./path`), the only Git the check needs.
import { execFile } from 'node:child_process';
import { basename, dirname } from 'node:path';
import { promisify } from 'node:util';
import { CheckInputError, GitError } from './errors.js';

const run = promisify(execFile);

/** The file's bytes at `ref`, or undefined when it did not exist there (a new file: CREATE). */
export async function fileAtRevision(ref: string, path: string): Promise<Buffer | undefined> {
  if (ref.startsWith('-')) throw new CheckInputError(`--base-ref ${ref}: not a Git revision`);
  const cwd = dirname(path);
  try {
    await run('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { code?: unknown };
    if (e.code === 'ENOENT')
      throw new GitError('git is not installed or not on PATH (needed for --base-ref)');
    throw new CheckInputError(
      `--base-ref ${ref}: not a commit in the Git repository holding ${path}`,
    );
  }
  try {
    const { stdout } = await run('git', ['show', `${ref}:./${basename(path)}`], {
      cwd,
      encoding: 'buffer',
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '');
    if (/does not exist|exists on disk, but not in/.test(stderr)) return undefined;
    throw new GitError(
      `git show ${ref}:${path} failed: ${stderr.trim() || (err as Error).message}`,
    );
  }
}
