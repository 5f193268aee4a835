// The policy a decision is made under: what each rule does when it fires.

export type Action = 'deny' | 'warn' | 'off';

/** Rules whose action a policy can set to deny, warn or off. */
export const CONFIGURABLE_RULES = [
  'known-stream',
  'release-minimum',
  'boot-image',
  'no-removal',
  'mirrored',
  'inplace-rebase',
  'implicit-flip',
  'field-supported',
  'exemption',
] as const;
export type ConfigurableRule = (typeof CONFIGURABLE_RULES)[number];

export interface Policy {
  /** Where the policy came from (a file path or `built-in default`), for messages. */
  source: string;
  actions: Record<ConfigurableRule, Action>;
  /** `no-downgrade` on Replace pools: deny (default) or warn. InPlace pools are always denied. */
  noDowngradeReplace: 'deny' | 'warn';
  /** Minimum release for rhel-10, compared on major.minor. */
  rhel10Minimum: { major: number; minor: number; raw: string };
  /** What `context` and `catalog` findings do. */
  onMissingContext: 'deny' | 'warn';
  pinOnCreate: boolean;
  /** `auto`: disconnected when the HostedCluster has imageContentSources. */
  disconnected: 'auto' | 'true' | 'false';
  exemptions: { users: readonly string[]; groups: readonly string[] };
}
