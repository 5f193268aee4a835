import { API_STREAMS } from '../stream.js';
import { shorten } from '../text.js';
import type { Rule } from './types.js';

/** The explicit stream must be one the NodePool API accepts and the release offers. */
export const knownStream: Rule = {
  id: 'known-stream',
  ratchet: true,
  check({ next }) {
    const name = next.explicit;
    if (name === undefined) return [];
    if (!API_STREAMS.includes(name)) {
      return [
        {
          rule: 'known-stream',
          message: `spec.osImageStream.name: unknown RHEL stream ${JSON.stringify(name)}; valid values are "rhel-9" and "rhel-10"`,
          summary: `unknown stream ${shorten(JSON.stringify(name), 40)}; use rhel-9 or rhel-10`,
        },
      ];
    }
    const release = next.release;
    // Only the payload's own metadata says what it offers; the embedded catalog cannot.
    if (release?.source === 'release' && !release.bootImages.streams.includes(name)) {
      const offered = release.bootImages.streams.join(', ');
      return [
        {
          rule: 'known-stream',
          message: `release ${release.pullspec} does not offer stream "${name}"; available streams: [${offered}]. Choose one of those or a release that ships ${name}`,
          summary: `release does not offer ${name}; it offers: ${offered}`,
        },
      ];
    }
    return [];
  },
};
