// tools/chart-render, on a small chart made here: the parts of `helm template` the chart tests
// rely on (values merging, --set typing, Helm's functions, the built-in objects, the output).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mergedValues, render, renderNotes, runRenderer } from './render.js';

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function chart(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'streamguard-chart-'));
  made.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const CHART_YAML = 'apiVersion: v2\nname: demo\nversion: 1.2.3\nappVersion: "4.5"\n';
const values = (text: string) => chart({ 'Chart.yaml': CHART_YAML, 'values.yaml': text });

describe('chart-render values', () => {
  it('deep-merges values files over the defaults; null removes a default', () => {
    const dir = values('a: {b: 1, c: 2}\nkeep: x\ndrop: y\n');
    expect(mergedValues({ chart: dir, values: { a: { c: 3 }, drop: null } })).toEqual({
      a: { b: 1, c: 3 },
      keep: 'x',
    });
  });

  it('types --set values as Helm does, and keeps --set-string as strings', () => {
    const dir = values('');
    expect(
      mergedValues({
        chart: dir,
        set: ['n=10,b=true,mode=0755,x.y=hello', 'esc\\.dot=1,list=a\\,b'],
      }),
    ).toEqual({ n: 10, b: true, mode: '0755', x: { y: 'hello' }, 'esc.dot': 1, list: 'a,b' });
    const r = runRenderer({ chart: dir }, ['--set-string', 'n=10', '--print-values']);
    expect(JSON.parse(r.stdout)).toEqual({ n: '10' });
  });

  it('refuses what it does not support, with the argument in the message', () => {
    const r = runRenderer({ chart: values(''), set: ['list[0]=x'] });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--set "list\[0\]=x": list indices are not supported/);
  });
});

describe('chart-render templates', () => {
  const dir = chart({
    'Chart.yaml': CHART_YAML,
    'values.yaml':
      'name: web\nlabels: {z: "1", a: "2"}\ngreeting: "hello {{ .Values.name }}"\nmissing: {}\n',
    'files/motd.txt': 'line one\nline two\n',
    'templates/_defs.tpl':
      '{{- define "demo.fullname" -}}{{ .Release.Name }}-{{ .Values.name }}{{- end }}\n',
    'templates/cm.yaml': [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ include "demo.fullname" . }}',
      '  labels:',
      '    {{- toYaml .Values.labels | nindent 4 }}',
      'data:',
      '  greeting: {{ tpl .Values.greeting . | quote }}',
      '  json: {{ toJson .Values.labels | quote }}',
      '  parsed: {{ (fromYaml "k: [1, 2]").k | len | quote }}',
      '  lookup: {{ lookup "v1" "Secret" "ns" "x" | len | quote }}',
      '  absent: "{{ .Values.missing.key }}"',
      '  release: {{ printf "%s/%s/%v/%v" .Release.Service .Release.Namespace .Release.IsInstall .Release.IsUpgrade | quote }}',
      '  chart: {{ printf "%s-%s-%s" .Chart.Name .Chart.Version .Chart.AppVersion | quote }}',
      '  kube: {{ printf "%s.%s" .Capabilities.KubeVersion.Major .Capabilities.KubeVersion.Minor | quote }}',
      '  apps: {{ .Capabilities.APIVersions.Has "apps/v1" | quote }}',
      '  template: {{ .Template.Name | quote }}',
      '  motd: {{ .Files.Get "files/motd.txt" | quote }}',
      '---',
      'apiVersion: v1',
      'kind: ServiceAccount',
      'metadata:',
      '  name: first-in-install-order',
      '---',
      '# only a comment: still a document, as in helm template',
    ].join('\n'),
    'templates/hook.yaml':
      'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: hook\n  annotations:\n    helm.sh/hook: pre-install\n',
    'templates/empty.yaml': '{{- if false }}\nkind: Never\n{{- end }}\n',
    'templates/NOTES.txt': 'Installed {{ include "demo.fullname" . }}.\n',
  });

  it('renders with include, tpl, toYaml, toJson, fromYaml, lookup and the built-in objects', () => {
    const { objects, sources, stream } = render({ chart: dir, name: 'rel', namespace: 'ns1' });
    const cm = objects.find((o) => o.kind === 'ConfigMap');
    expect(cm?.metadata).toEqual({ name: 'rel-web', labels: { a: '2', z: '1' } });
    expect(cm?.data).toEqual({
      greeting: 'hello web',
      json: '{"a":"2","z":"1"}',
      parsed: '2',
      lookup: '0',
      absent: '',
      release: 'Helm/ns1/true/false',
      chart: 'demo-1.2.3-4.5',
      kube: '1.30',
      apps: 'true',
      template: 'demo/templates/cm.yaml',
      motd: 'line one\nline two\n',
    });
    // Install order (ServiceAccount before ConfigMap), hooks last; no partials, NOTES or
    // empty output in the stream.
    expect(objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'ConfigMap', 'Job']);
    expect(sources).toEqual([
      'demo/templates/cm.yaml',
      'demo/templates/cm.yaml',
      'demo/templates/hook.yaml',
    ]);
    expect(stream).toContain('---\n# Source: demo/templates/cm.yaml\n# only a comment');
  });

  it('prints NOTES.txt on its own', () => {
    expect(renderNotes({ chart: dir, name: 'rel' })).toBe('Installed rel-web.\n');
  });

  it.each([
    ['required', '{{ required "name is required" .Values.nope }}', /name is required/],
    ['fail', '{{ fail "stop here" }}', /stop here/],
    // Helm removes env and expandenv: a chart must not read the renderer's environment.
    ['env', '{{ env "HOME" }}', /function "env" not defined/],
    ['a syntax error', '{{ if }}', /missing value for if/],
  ])('fails the render on %s, naming the template', (_l, body, message) => {
    const broken = chart({ 'Chart.yaml': CHART_YAML, 'templates/x.yaml': body });
    const r = runRenderer({ chart: broken });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('demo/templates/x.yaml');
    expect(r.stdout).toBe('');
  });
});
