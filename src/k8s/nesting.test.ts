import { describe, expect, it } from 'vitest';
import { parsePolicy, PolicyError } from '../policy/load.js';
import { StateError } from '../state/errors.js';
import { parseManifests } from '../state/parse.js';
import { flowNestingExceeded, MAX_FLOW_NESTING } from './nesting.js';

const nested = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;

describe('flowNestingExceeded', () => {
  it('finds the offset where flow nesting first passes the bound', () => {
    expect(flowNestingExceeded(nested(MAX_FLOW_NESTING))).toBeUndefined();
    expect(flowNestingExceeded(`a: ${nested(MAX_FLOW_NESTING + 1)}`)).toBe(3 + MAX_FLOW_NESTING);
    expect(flowNestingExceeded('{a: [1, {b: [2]}]}', 3)).toBe(12);
  });

  it('does not count brackets in quoted scalars or comments, and closes what it opened', () => {
    const many = '['.repeat(1_000);
    expect(flowNestingExceeded(`a: "${many}\\"${many}"\nb: '${many}''${many}'\n# ${many}\n`)).toBe(
      undefined,
    );
    expect(flowNestingExceeded(`${'[1], '.repeat(1_000)}`)).toBeUndefined();
  });
});

describe('loaders refuse absurd nesting before the YAML parser recurses into it', () => {
  // The object's own brace is level 1. 20,000 levels: deep enough that the parser's recursion would reach the stack limit.
  const deep = `{"apiVersion": "v1", "kind": "ConfigMap", "data": ${nested(20_000)}}`;

  it('state files: a StateError naming the file', () => {
    expect(() => parseManifests(deep, 'state/cm.json')).toThrow(StateError);
    expect(() => parseManifests(deep, 'state/cm.json')).toThrow(
      `state/cm.json: nested more than ${MAX_FLOW_NESTING} levels deep at offset ${49 + MAX_FLOW_NESTING}`,
    );
  });

  it('policy files: a PolicyError naming the file', () => {
    expect(() => parsePolicy(deep, 'p.yaml')).toThrow(PolicyError);
    expect(() => parsePolicy(deep, 'p.yaml')).toThrow(/^p\.yaml: nested more than 200 levels/);
  });
});
