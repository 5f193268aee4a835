// Watches files or directory trees for changes: fs.watch for promptness, and a periodic
// fingerprint poll because fs.watch misses some changes (editors that rename, Kubernetes volumes
// that swap a `..data` symlink, network file systems). Callers get one debounced call per burst.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface WatchOptions {
  debounceMs?: number;
  pollMs?: number;
}

export interface Watcher {
  close(): void;
}

export function watchPaths(
  paths: readonly string[],
  onChange: () => void,
  options: WatchOptions = {},
): Watcher {
  const debounceMs = options.debounceMs ?? 200;
  const pollMs = options.pollMs ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let last: string | undefined;
  const fire = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!closed) onChange();
    }, debounceMs);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const path of paths) {
    try {
      const w = watch(path, { recursive: true, persistent: false }, fire);
      w.on('error', () => undefined); // the poll below still sees changes
      watchers.push(w);
    } catch {
      // A path that cannot be watched (gone, unsupported) is still polled.
    }
  }
  const poll = setInterval(() => {
    void fingerprint(paths).then((print) => {
      if (last !== undefined && print !== last) fire();
      last = print;
    });
  }, pollMs);
  poll.unref();
  void fingerprint(paths).then((print) => (last ??= print));
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      for (const w of watchers) w.close();
    },
  };
}

/** size, mtime and inode of every file under the paths (following symlinks), as one string. */
export async function fingerprint(paths: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const path of paths) await walk(path, parts, 0);
  return parts.join('\n');
}

async function walk(path: string, out: string[], depth: number): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch {
    out.push(`${path} missing`);
    return;
  }
  if (info.isDirectory() && depth < 16) {
    const names = (await readdir(path).catch(() => [] as string[])).sort();
    for (const name of names) await walk(join(path, name), out, depth + 1);
    return;
  }
  out.push(`${path} ${info.size} ${info.mtimeMs} ${info.ino}`);
}
