// Node OS images per stream from the payload's `image-references` ImageStream. The tag names are
// the MCO's (install/image-references): `rhel-coreos[-extensions]` is RHEL 9, and a numbered tag
// `rhel-coreos-<N>[-extensions]` is stream `rhel-<N>` (rhel-coreos-10 today; rhel-coreos-8 in
// 4.12-era payloads).

import { CatalogError } from './errors.js';
import { child, expectObject, expectString, field } from './json-read.js';
import { RHEL9, type NodeImages, type StreamName } from './types.js';

const NODE_TAG = /^rhel-coreos(?:-([1-9]\d*))?(-extensions)?$/;

export function nodeImagesFromImageStream(
  imageStream: unknown,
  where = 'image-references',
): Map<StreamName, NodeImages> {
  const doc = expectObject(imageStream, where);
  const specWhere = child(where, 'spec');
  const tagsWhere = child(specWhere, 'tags');
  const tags = field(expectObject(field(doc, 'spec'), specWhere), 'tags');
  if (!Array.isArray(tags)) throw new CatalogError(tagsWhere, 'expected an array of tags');

  const result = new Map<StreamName, NodeImages>();
  tags.forEach((value: unknown, index) => {
    const at = child(tagsWhere, index);
    const tag = expectObject(value, at);
    const name = expectString(field(tag, 'name'), child(at, 'name'));
    const match = NODE_TAG.exec(name);
    if (!match) return;
    const fromWhere = child(at, 'from');
    const pullspec = expectString(
      field(expectObject(field(tag, 'from'), fromWhere), 'name'),
      child(fromWhere, 'name'),
    );
    if (!pullspec) throw new CatalogError(child(fromWhere, 'name'), 'empty image reference');
    const stream = match[1] === undefined ? RHEL9 : `rhel-${match[1]}`;
    const role = match[2] ? 'extensions' : 'os';
    const images = result.get(stream) ?? {};
    if (images[role] !== undefined) {
      throw new CatalogError(at, `second tag for the ${stream} ${role} image ("${name}")`);
    }
    images[role] = pullspec;
    result.set(stream, images);
  });
  return result;
}
