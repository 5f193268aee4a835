// Prototype pollution shows as a new or changed property on a shared prototype.
import assert from 'node:assert/strict';

const PROTOTYPES = [Object.prototype, Array.prototype, Function.prototype];

function snapshot(): string[][] {
  return PROTOTYPES.map((p) => Object.getOwnPropertyNames(p).sort());
}

export function prototypeGuard(): () => void {
  const before = snapshot();
  return () => {
    assert.deepEqual(snapshot(), before, 'a prototype gained or lost a property');
    const probe: Record<string, unknown> = {};
    assert.equal(probe.polluted, undefined, 'Object.prototype.polluted is set');
  };
}
