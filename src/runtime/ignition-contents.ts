// Reads an Ignition file's `contents` (a `source` URL plus optional `compression`) as text.
// Only data URLs can be read here: other schemes (http, s3, …) are fetched by Ignition on the
// node, and the webhook must not reach out on the request path.
import parseDataURL from 'data-urls';
import { gunzipSync } from 'node:zlib';
import { isObject } from '../k8s/objects.js';

/** Decompressed drop-ins larger than this are rejected (a gzip bomb must not stall a request). */
export const MAX_DECODED_BYTES = 4 * 1024 * 1024;

export type ContentsResult = { text: string } | { error: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function readIgnitionContents(contents: unknown): ContentsResult {
  if (contents === undefined || contents === null) return { text: '' }; // Ignition writes an empty file
  if (!isObject(contents)) return { error: 'contents is not an object' };
  const { source, compression } = contents;
  if (source === undefined || source === null) return { text: '' };
  if (typeof source !== 'string') return { error: 'contents.source is not a string' };
  if (
    compression !== undefined &&
    compression !== null &&
    compression !== '' &&
    compression !== 'gzip'
  ) {
    return { error: `unsupported contents.compression ${JSON.stringify(compression)}` };
  }
  if (!/^\s*data:/i.test(source)) {
    return {
      error: 'contents.source is not a data URL, so it cannot be read before the node does',
    };
  }
  const url = parseDataURL(source);
  if (url === null) return { error: 'contents.source is not a valid data URL' };
  let bytes = url.body;
  if (compression === 'gzip') {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_DECODED_BYTES });
    } catch (error) {
      return { error: `contents are not valid gzip: ${(error as Error).message}` };
    }
  }
  if (bytes.length > MAX_DECODED_BYTES) return { error: 'contents are too large' };
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    return { error: 'contents are not valid UTF-8 text' };
  }
}
