import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Places where an offline provider mirror (a directory holding `registry.terraform.io/`) commonly lives. */
export const MIRROR_CANDIDATES: readonly string[] = [
  '/opt/tf-plugins',
  join(homedir(), '.terraform.d', 'plugins'),
  '/usr/local/share/terraform/plugins',
  '/usr/share/terraform/plugins',
];

/**
 * Finds a filesystem mirror holding hashicorp/aws, or undefined when
 * Terraform should use the public registry as usual.
 */
export function findProviderMirror(explicit?: string, candidates: readonly string[] = MIRROR_CANDIDATES): string | undefined {
  const dirs = explicit ? [explicit] : candidates;
  return dirs.find((dir) => existsSync(join(dir, 'registry.terraform.io', 'hashicorp', 'aws')));
}

/** The CLI configuration text that installs providers from `mirror` only. */
export function mirrorCliConfig(mirror: string): string {
  return [
    'disable_checkpoint = true',
    'provider_installation {',
    '  filesystem_mirror {',
    `    path    = ${JSON.stringify(mirror)}`,
    '    include = ["registry.terraform.io/*/*"]',
    '  }',
    '}',
    '',
  ].join('\n');
}
