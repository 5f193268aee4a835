// Loads what a decision needs from files: the policy and the offline state (adapters at the edge).
import { readFile } from 'node:fs/promises';
import type { DecisionContext } from '../engine/types.js';
import { loadPolicyFile } from '../policy/file.js';
import { loadState, type LoadedState } from '../state/load.js';
import { UsageError } from './exit.js';

export interface LoadedContext extends DecisionContext {
  state: LoadedState;
}

export async function loadContext(options: {
  state?: string;
  policy?: string;
}): Promise<LoadedContext> {
  const [policy, state] = await Promise.all([
    loadPolicyFile(options.policy),
    loadState(options.state),
  ]);
  return { policy, releases: state.releases, cluster: state.cluster, state };
}

export async function readInput(path: string): Promise<Buffer> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(path);
  } catch (err) {
    throw new UsageError(
      `${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}
