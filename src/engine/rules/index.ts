import { bootImage } from './boot-image.js';
import { context } from './context.js';
import { fieldSupported } from './field-supported.js';
import { implicitFlip } from './implicit-flip.js';
import { inplaceRebase } from './inplace-rebase.js';
import { knownStream } from './known-stream.js';
import { mirrored } from './mirrored.js';
import { noDowngrade } from './no-downgrade.js';
import { noRemoval } from './no-removal.js';
import { releaseMinimum } from './release-minimum.js';
import { runtime } from './runtime.js';
import type { Rule } from './types.js';

/** The validating rules, in the order their findings are reported. */
export const RULES: readonly Rule[] = [
  knownStream,
  releaseMinimum,
  runtime,
  noDowngrade,
  noRemoval,
  bootImage,
  mirrored,
  inplaceRebase,
  implicitFlip,
  fieldSupported,
  context,
];
