/**
 * A minimal push-style tar reader (ustar, pax `x`/`g` headers, GNU `L` long names, base-256
 * sizes). Written here instead of depending on a tar package because the layer scan needs exact
 * control over how far the stream is read (it stops mid-stream the moment the wanted files are
 * found) and needs nothing but paths, types and the contents of a few small files: about 150 lines
 * that neither pull in a stream library nor buffer ahead of the caller.
 *
 * Feed decompressed bytes with {@link TarReader.write}; it calls `onEntry` for each entry header
 * and, for entries whose `onEntry` returned true, `onFile` with the whole contents.
 */
export interface TarEntry {
  path: string;
  /** '0' regular file, '5' directory, '2' symlink, … (the typeflag; '\0' is reported as '0'). */
  type: string;
  size: number;
}

export class TarFormatError extends Error {
  override name = 'TarFormatError';
}

const BLOCK = 512;

type State =
  | { kind: 'header' }
  | { kind: 'data'; entry: TarEntry; remaining: number; keep: Buffer[] | undefined; meta: boolean }
  | { kind: 'padding'; remaining: number }
  | { kind: 'end' };

export interface TarReaderOptions {
  /** Called for every file entry; return true to receive its contents. */
  onEntry: (entry: TarEntry) => boolean;
  onFile: (entry: TarEntry, contents: Buffer) => void;
  /** Largest entry whose contents are kept (default 64 MiB); a larger wanted file is an error. */
  maxFileBytes?: number;
}

export class TarReader {
  private state: State = { kind: 'header' };
  private pending: Buffer = Buffer.alloc(0);
  private paxPath: string | undefined;
  private paxSize: number | undefined;
  private longName: string | undefined;
  private zeroBlocks = 0;
  private readonly maxFileBytes: number;

  constructor(private readonly options: TarReaderOptions) {
    this.maxFileBytes = options.maxFileBytes ?? 64 * 1024 * 1024;
  }

  /** True once the end-of-archive marker (two zero blocks) was read, or after {@link stop}. */
  get ended(): boolean {
    return this.state.kind === 'end';
  }

  /** Ignores everything written from now on (the caller has what it wanted). */
  stop(): void {
    this.state = { kind: 'end' };
    this.pending = Buffer.alloc(0);
  }

  write(chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (buf.length > 0 && this.state.kind !== 'end') {
      const state = this.state;
      if (state.kind === 'header') {
        if (buf.length < BLOCK) break;
        this.readHeader(buf.subarray(0, BLOCK));
        buf = buf.subarray(BLOCK);
      } else if (state.kind === 'data') {
        const take = Math.min(state.remaining, buf.length);
        if (state.keep) state.keep.push(Buffer.from(buf.subarray(0, take)));
        state.remaining -= take;
        buf = buf.subarray(take);
        if (state.remaining === 0) this.finishData(state);
      } else {
        const take = Math.min(state.remaining, buf.length);
        state.remaining -= take;
        buf = buf.subarray(take);
        if (state.remaining === 0) this.state = { kind: 'header' };
      }
    }
    if (this.state.kind !== 'end' && buf.length > 0) this.pending = Buffer.from(buf);
  }

  private readHeader(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      this.zeroBlocks++;
      if (this.zeroBlocks >= 2) this.state = { kind: 'end' };
      return;
    }
    this.zeroBlocks = 0;
    if (!validChecksum(block)) throw new TarFormatError('tar header checksum mismatch');

    const typeByte = block[156] ?? 0;
    const type = typeByte === 0 ? '0' : String.fromCharCode(typeByte);
    const headerSize = parseNumber(block.subarray(124, 136));
    const magic = block.subarray(257, 263).toString('latin1');
    let name = cString(block.subarray(0, 100));
    if (magic.startsWith('ustar')) {
      const prefix = cString(block.subarray(345, 500));
      if (prefix !== '' && magic === 'ustar\u0000') name = `${prefix}/${name}`;
    }

    const meta = type === 'x' || type === 'g' || type === 'L' || type === 'K';
    const size = meta ? headerSize : (this.paxSize ?? headerSize);
    const path = normalizePath(this.paxPath ?? this.longName ?? name);
    const entry: TarEntry = { path, type: type === '7' ? '0' : type, size };
    if (!meta) {
      this.paxPath = undefined;
      this.paxSize = undefined;
      this.longName = undefined;
    }

    let keep: Buffer[] | undefined;
    if (meta) {
      if (size > 1024 * 1024) throw new TarFormatError(`tar ${type} header of ${size} bytes`);
      keep = [];
    } else if (entry.type === '0' && this.options.onEntry(entry)) {
      if (size > this.maxFileBytes) {
        throw new TarFormatError(`${path} is ${size} bytes, above the ${this.maxFileBytes} limit`);
      }
      keep = [];
    }
    // Hard links, symlinks and directories carry no data (size 0); other types' data is skipped.
    const state = { kind: 'data' as const, entry: { ...entry, type }, remaining: size, keep, meta };
    if (size === 0) this.finishData(state);
    else this.state = state;
  }

  private finishData(state: Extract<State, { kind: 'data' }>): void {
    const { entry, keep, meta } = state;
    const contents = keep ? Buffer.concat(keep) : undefined;
    if (meta && contents) {
      if (entry.type === 'x' || entry.type === 'g') {
        const records = parsePax(contents);
        if (entry.type === 'x') {
          if (records.path !== undefined) this.paxPath = records.path;
          if (records.size !== undefined) this.paxSize = Number(records.size);
        }
        // Global ('g') records set defaults such as mtime or charset; none matters here.
      } else if (entry.type === 'L') {
        this.longName = cString(contents);
      }
    } else if (contents) {
      this.options.onFile({ ...entry, type: '0' }, contents);
    }
    const padding = (BLOCK - (entry.size % BLOCK)) % BLOCK;
    this.state = padding > 0 ? { kind: 'padding', remaining: padding } : { kind: 'header' };
  }
}

function cString(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  return bytes.subarray(0, nul < 0 ? bytes.length : nul).toString('utf8');
}

/** Octal (NUL/space terminated) or GNU base-256 (high bit of the first byte set). */
function parseNumber(field: Buffer): number {
  const first = field[0] ?? 0;
  if (first & 0x80) {
    let value = first & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    if (!Number.isSafeInteger(value)) throw new TarFormatError('tar size too large');
    return value;
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/g, '')
    .trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError('malformed tar number field');
  return parseInt(text, 8);
}

function validChecksum(block: Buffer): boolean {
  const stored = parseNumber(block.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] ?? 0);
  return sum === stored;
}

/** pax records: "<len> <key>=<value>\n" repeated. */
function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(data.subarray(pos, space).toString('latin1'), 10);
    if (!Number.isSafeInteger(len) || len <= 0 || pos + len > data.length) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

/** `./a/b`, `/a/b` and `a//b/` all become `a/b`. */
export function normalizePath(path: string): string {
  return path
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}
