/** `flowship run` as a process: configuration problems found at start are messages, not stack traces. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FLOWSHIP_BIN } from '../helpers/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'flowship-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function flowship(...args: string[]) {
  return spawnSync(process.execPath, [FLOWSHIP_BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}

describe('flowship run: path.data', () => {
  it('a path.data that cannot be created is a configuration error naming it, exit 1', () => {
    // under a regular file: ENOTDIR, whoever runs the test (root included)
    const blocker = join(dir, 'not-a-directory');
    writeFileSync(blocker, '');
    const data = join(blocker, 'data');
    const config = join(dir, 'flowship.yml');
    writeFileSync(
      config,
      `flowship.inputs: [{type: netflow, host: 127.0.0.1, port: 0}]\noutput.console: {}\npath.data: ${data}\n`,
    );
    const r = flowship('run', '-c', config);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^flowship: path\\.data ${data} cannot be created: ENOTDIR`));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});
