// `streamguard policy validate`: a policy file checked against the shipped schema.
import { loadPolicyFile } from '../policy/file.js';
import { EXIT } from './exit.js';

export async function runPolicyValidate(file: string): Promise<number> {
  const policy = await loadPolicyFile(file);
  const { source: _source, ...effective } = policy;
  process.stdout.write(`${file}: valid StreamPolicy\n${JSON.stringify(effective, null, 2)}\n`);
  return EXIT.ok;
}
