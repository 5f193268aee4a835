// data-urls v6 is CommonJS and ships no types; only the parser entry point is used.
declare module 'data-urls' {
  interface DataURL {
    mimeType: { essence: string; toString(): string };
    body: Uint8Array;
  }
  /** Parses a `data:` URL per the WHATWG fetch spec; null when the input is not a valid one. */
  function parseDataURL(input: string): DataURL | null;
  export = parseDataURL;
}
