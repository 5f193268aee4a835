// Which resource types are served right now: the built-ins plus one per stored CRD. Like the real
// server, a CRD created through the API starts being served at once, and stops when deleted.
import { BUILTINS, resourceFromCrd, type KubeObject, type ResourceType } from './resources.js';

export class Registry {
  private readonly custom = new Map<string, ResourceType>();

  all(): ResourceType[] {
    return [...BUILTINS, ...this.custom.values()];
  }

  /** By URL parts: group, version and plural. */
  byPlural(group: string, version: string, plural: string): ResourceType | undefined {
    return this.all().find(
      (r) => r.group === group && r.plural === plural && r.versions.includes(version),
    );
  }

  /** By an object's apiVersion and kind; says what is unknown. */
  byKind(apiVersion: string, kind: string): ResourceType {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
    const found = this.all().find(
      (r) => r.group === group && r.kind === kind && r.versions.includes(version ?? ''),
    );
    if (found === undefined) {
      throw new Error(`no served resource for apiVersion ${apiVersion} kind ${kind}`);
    }
    return found;
  }

  crdStored(crd: KubeObject): void {
    const type = resourceFromCrd(crd);
    const clash = this.all().find(
      (r) => r.crd !== type.crd && r.group === type.group && r.plural === type.plural,
    );
    if (clash) throw new Error(`${type.plural}.${type.group} is already served`);
    this.custom.set(type.crd ?? '', type);
  }

  crdDeleted(name: string): ResourceType | undefined {
    const type = this.custom.get(name);
    this.custom.delete(name);
    return type;
  }
}
