import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Decision, Finding, JsonPatchOperation, RuleId, Severity } from '../engine/types.js';
import { admissionResponse, WARNING_LIMIT } from './response.js';

const UID = '705ab4f5-6393-11e8-b7cc-42010a800002';

function finding(rule: RuleId, severity: Severity, message: string, summary = message): Finding {
  return { rule, severity, message, summary };
}

function decision(findings: Finding[], patch: JsonPatchOperation[] = []): Decision {
  return { allowed: !findings.some((f) => f.severity === 'deny'), findings, patch };
}

/**
 * What the API server refuses in a warning (Go's unicode.IsControl: C0, DEL and C1) and the
 * characters that break a line.
 */
// eslint-disable-next-line no-control-regex
const CONTROL_OR_BREAK = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('admissionResponse', () => {
  it('answers an allowed request with nothing but its uid and allowed: true', () => {
    expect(admissionResponse(UID, decision([]))).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: UID, allowed: true },
    });
    // The API server matches the response to the request by uid.
    expect(admissionResponse('another-uid', decision([])).response.uid).toBe('another-uid');
  });

  it('denies with code 403 and one `[rule-id] message` line per denying finding, in order', () => {
    const response = admissionResponse(
      UID,
      decision([
        finding('no-downgrade', 'deny', 'downgrade from rhel-10 to rhel-9', 'short downgrade'),
        finding('implicit-flip', 'warn', 'a warning, not a reason'),
        finding('runtime', 'deny', 'rhel-10 with runc', 'short runtime'),
      ]),
    ).response;
    expect(response.allowed).toBe(false);
    expect(response.status?.code).toBe(403);
    // The full message, not the summary; warnings do not appear in the status.
    expect(response.status?.message.split('\n')).toEqual([
      '[no-downgrade] downgrade from rhel-10 to rhel-9',
      '[runtime] rhel-10 with runc',
    ]);
  });

  it('has no status when allowed, even with warnings', () => {
    const response = admissionResponse(
      UID,
      decision([finding('implicit-flip', 'warn', 'flip')]),
    ).response;
    expect(response.allowed).toBe(true);
    expect(response).not.toHaveProperty('status');
  });

  it('keeps each denial on one line when its message holds control characters', () => {
    const messages = [
      'first\nsecond',
      'carriage\r\nreturn and\ttab',
      'nul\u0000 bell\u0007 escape\u001b[31m del\u007f',
      'next line\u0085 csi\u009b and line\u2028paragraph\u2029end',
    ];
    const response = admissionResponse(
      UID,
      decision(messages.map((m) => finding('known-stream', 'deny', m))),
    ).response;
    const lines = response.status?.message.split('\n') ?? [];
    expect(lines).toHaveLength(messages.length);
    for (const line of lines) {
      expect(line.startsWith('[known-stream] ')).toBe(true);
      expect(line).not.toMatch(CONTROL_OR_BREAK);
    }
    expect(lines[0]).toBe('[known-stream] first second');
    expect(lines[1]).toBe('[known-stream] carriage return and tab');
  });

  it('replaces half a surrogate pair, which is not text, in denials and warnings', () => {
    const broken = 'user \ud83d cut';
    const response = admissionResponse(
      UID,
      decision([finding('runtime', 'deny', broken), finding('exemption', 'warn', broken)]),
    ).response;
    expect(response.status?.message).toBe('[runtime] user \ufffd cut');
    expect(response.warnings).toEqual(['[exemption] user \ufffd cut']);
  });

  it('turns warnings into `[rule-id] summary`, without duplicates', () => {
    const response = admissionResponse(
      UID,
      decision([
        finding('implicit-flip', 'warn', 'the long message', 'flip rhel-9 → rhel-10'),
        finding('no-downgrade', 'deny', 'a denial is not a warning'),
        finding(
          'implicit-flip',
          'warn',
          'the same warning for another reason',
          'flip rhel-9 → rhel-10',
        ),
        finding('implicit-flip', 'warn', 'x', 'a different summary'),
        finding('pin-on-create', 'warn', 'pinned', 'pinned to rhel-10'),
      ]),
    ).response;
    expect(response.warnings).toEqual([
      '[implicit-flip] flip rhel-9 → rhel-10',
      '[implicit-flip] a different summary',
      '[pin-on-create] pinned to rhel-10',
    ]);
  });

  it('has no warnings field when nothing warns', () => {
    const response = admissionResponse(UID, decision([finding('runtime', 'deny', 'runc')]));
    expect(response.response).not.toHaveProperty('warnings');
  });

  it(`cuts a warning longer than ${WARNING_LIMIT} characters with …`, () => {
    expect(WARNING_LIMIT).toBe(120);
    const summary = 'word '.repeat(40).trim();
    const [warning] =
      admissionResponse(UID, decision([finding('boot-image', 'warn', 'm', summary)])).response
        .warnings ?? [];
    expect(warning).toHaveLength(120);
    expect(warning?.endsWith('…')).toBe(true);
    expect(`[boot-image] ${summary}`.startsWith(warning?.slice(0, -1) ?? '-')).toBe(true);
  });

  it('leaves a warning of exactly the limit whole', () => {
    const prefix = '[boot-image] ';
    const summary = 'x'.repeat(WARNING_LIMIT - prefix.length);
    const response = admissionResponse(
      UID,
      decision([finding('boot-image', 'warn', 'm', summary)]),
    );
    expect(response.response.warnings).toEqual([prefix + summary]);
  });

  it('never splits a character made of two UTF-16 units when it cuts a warning', () => {
    const prefix = '[exemption] ';
    // The emoji straddles the cut: its first half would be the 119th unit.
    const summary = `${'a'.repeat(WARNING_LIMIT - 2 - prefix.length)}😀 and more text`;
    const [warning] =
      admissionResponse(UID, decision([finding('exemption', 'warn', 'm', summary)])).response
        .warnings ?? [];
    expect(warning).not.toMatch(LONE_SURROGATE);
    expect(warning?.length).toBeLessThanOrEqual(WARNING_LIMIT);
    expect(warning?.endsWith('…')).toBe(true);
  });

  it('keeps every warning within the limit, on one line, free of control characters', () => {
    const text = fc.string({
      unit: fc.oneof(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
        fc.constantFrom('\n', '\r', '\t', '\u0000', '\u007f', '\u0085', '\u009b', '\u2028', '😀'),
        // Halves of a pair, as a careless slice of a name elsewhere would leave them.
        fc.constantFrom('\ud83d', '\ude00'),
      ),
      maxLength: 200,
    });
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 5 }), (summaries) => {
        const response = admissionResponse(
          UID,
          decision(summaries.map((s) => finding('implicit-flip', 'warn', s, s))),
        ).response;
        const warnings = response.warnings ?? [];
        expect(warnings.length).toBeGreaterThan(0);
        expect(new Set(warnings).size).toBe(warnings.length);
        for (const w of warnings) {
          expect(w.startsWith('[implicit-flip] ')).toBe(true);
          expect(w.length).toBeLessThanOrEqual(WARNING_LIMIT);
          expect(w).not.toMatch(CONTROL_OR_BREAK);
          expect(w).not.toMatch(LONE_SURROGATE);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('lists the rules that fired, once each and in order, in auditAnnotations.rules', () => {
    const response = admissionResponse(
      UID,
      decision([
        finding('no-downgrade', 'deny', 'a'),
        finding('implicit-flip', 'warn', 'b'),
        finding('no-downgrade', 'deny', 'c'),
        finding('exemption', 'warn', 'd'),
        finding('implicit-flip', 'warn', 'e'),
      ]),
    ).response;
    expect(response.auditAnnotations).toEqual({ rules: 'no-downgrade,implicit-flip,exemption' });
    expect(admissionResponse(UID, decision([])).response).not.toHaveProperty('auditAnnotations');
  });

  it('carries a patch as base64 of the JSON patch, with patchType JSONPatch', () => {
    const patch: JsonPatchOperation[] = [
      { op: 'add', path: '/spec/osImageStream', value: { name: 'rhel-10' } },
      {
        op: 'add',
        path: '/metadata/annotations/streamguard.io~1defaulted-stream',
        // Characters whose base64 needs "+" and "/", and one outside ASCII.
        value: '>>>???é',
      },
    ];
    const response = admissionResponse(
      UID,
      decision([finding('pin-on-create', 'warn', 'pinned')], patch),
    ).response;
    expect(response.patchType).toBe('JSONPatch');
    // Standard base64, as a Go []byte field in JSON is decoded (not base64url).
    expect(response.patch).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString('utf8'))).toEqual(patch);
    expect(response.allowed).toBe(true);
  });

  it('has neither patch nor patchType when the patch is empty', () => {
    const response = admissionResponse(
      UID,
      decision([finding('implicit-flip', 'warn', 'w')], []),
    ).response;
    expect(response).not.toHaveProperty('patch');
    expect(response).not.toHaveProperty('patchType');
  });
});
