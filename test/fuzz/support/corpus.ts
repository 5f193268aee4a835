// Seeds for the mutators, all real data: the example AdmissionReviews and upstream's CRD test
// suite for osImageStream turned into the AdmissionReviews the API server would send.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { exampleRequests } from '../../server/support.js';
import { NODEPOOL_KIND, NODEPOOL_RESOURCE, osImageStreamSuite, R50 } from '../../support/world.js';
import type { Json } from './mutate.js';

function suiteReviews(): Json[] {
  return osImageStreamSuite().map((c, i) => {
    // On the example cluster at 5.0, so the state's HostedCluster and release data are read.
    const pool = (text: string) => {
      const obj = parse(text) as Record<string, Json> & { spec: Record<string, Json> };
      obj.spec = { ...obj.spec, clusterName: 'example', release: { image: R50 } };
      return { ...obj, metadata: { name: `suite-${i}`, namespace: 'clusters' } };
    };
    const object = pool(c.operation === 'CREATE' ? c.initial : (c.updated ?? ''));
    const oldObject = c.operation === 'CREATE' ? null : pool(c.initial);
    return {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: `suite-${i}`,
        kind: NODEPOOL_KIND,
        resource: NODEPOOL_RESOURCE,
        name: `suite-${i}`,
        namespace: 'clusters',
        operation: c.operation,
        userInfo: { username: 'kube:admin', groups: ['system:authenticated'] },
        object,
        oldObject,
        dryRun: false,
      },
    };
  });
}

export function admissionCorpus(): Json[] {
  return [...exampleRequests().map((e) => JSON.parse(e.text) as Json), ...suiteReviews()];
}

/** A text file of the repository, for seeds kept as files (policies, state). */
export function repoText(url: URL): string {
  return readFileSync(url, 'utf8');
}
