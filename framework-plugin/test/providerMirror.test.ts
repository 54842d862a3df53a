import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findProviderMirror, mirrorCliConfig } from '../src/local/terraform/providerMirror.js';

test('finds the first candidate that holds hashicorp/aws, none when absent', () => {
  const empty = mkdtempSync(join(tmpdir(), 'mirror-empty-'));
  const full = mkdtempSync(join(tmpdir(), 'mirror-full-'));
  mkdirSync(join(full, 'registry.terraform.io', 'hashicorp', 'aws'), { recursive: true });
  assert.is(findProviderMirror(undefined, [empty, full]), full);
  assert.is(findProviderMirror(undefined, [empty]), undefined);
  assert.is(findProviderMirror(empty, [full]), undefined, 'an explicit mirror is the only one tried');
  for (const dir of [empty, full]) rmSync(dir, { recursive: true, force: true });
});

test('the CLI config installs from the mirror only and disables the checkpoint', () => {
  const text = mirrorCliConfig('/opt/my "mirror"');
  assert.match(text, 'disable_checkpoint = true');
  assert.match(text, 'filesystem_mirror {');
  assert.match(text, 'path    = "/opt/my \\"mirror\\""');
  assert.not.match(text, 'direct');
});

test.run();
