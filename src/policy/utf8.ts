// Policy files must be UTF-8; a clear message beats YAML errors about replacement characters.

/** The text, or a message saying where the bytes stop being UTF-8. */
export function decodeUtf8(bytes: Uint8Array): { text: string } | { error: string } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
      return { error: 'is UTF-16 text; save it as UTF-8' };
    }
    const offset = firstInvalidOffset(bytes);
    let line = 1;
    for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
    const byte = bytes[offset];
    const what =
      byte === undefined
        ? 'truncated UTF-8 sequence at the end'
        : `byte 0x${byte.toString(16).padStart(2, '0')}`;
    return {
      error: `is not valid UTF-8 (${what} at offset ${offset}, line ${line}); save it as UTF-8`,
    };
  }
}

/** Where a streaming decoder first fails: only run on the error path, and files are small. */
function firstInvalidOffset(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < bytes.length; i++) {
    try {
      decoder.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return bytes.length;
}
