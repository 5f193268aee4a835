// `streamguard review`: one AdmissionReview in, the webhook's exact response out.
import { parseAdmissionReviewBytes } from '../admission/parse.js';
import { admissionResponse } from '../admission/response.js';
import { decide, type Webhook } from '../engine/decide.js';
import type { UserInfo } from '../engine/types.js';
import { loadContext, readInput } from './context.js';
import { EXIT } from './exit.js';

export interface ReviewOptions {
  state?: string;
  policy?: string;
  webhook: Webhook;
  as?: string;
  asGroup?: string[];
}

export async function runReview(requestPath: string, options: ReviewOptions): Promise<number> {
  const [ctx, bytes] = await Promise.all([loadContext(options), readInput(requestPath)]);
  const request = parseAdmissionReviewBytes(bytes, requestPath === '-' ? '(stdin)' : requestPath);
  // Offline, the request's userInfo is whatever the file says: exemptions are honoured only for
  // the identity the caller vouches for with --as.
  const user: UserInfo | undefined = options.as
    ? { username: options.as, groups: options.asGroup ?? [] }
    : undefined;
  const decision = decide({ ...request, userInfo: user }, ctx, options.webhook);
  process.stdout.write(`${JSON.stringify(admissionResponse(request.uid, decision))}\n`);
  return EXIT.ok;
}
