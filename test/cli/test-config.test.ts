/** `flowship test config` refuses what `run` refuses. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FLOWSHIP_BIN } from '../helpers/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'flowship-test-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function flowship(...args: string[]) {
  return spawnSync(process.execPath, [FLOWSHIP_BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}

function configFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const UNREADABLE_CA =
  /^flowship: output\.elasticsearch\.ssl\.certificate_authorities: cannot read \S+missing-ca\.pem: ENOENT/;

describe('flowship test config', () => {
  it('output.elasticsearch with a CA file that cannot be read: the same problem run reports, exit 1', () => {
    const config = configFile(
      'es.yml',
      `flowship.inputs: [{type: netflow}]\noutput.elasticsearch:\n  hosts: ["https://localhost:9200"]\n  ssl.certificate_authorities: [${join(dir, 'missing-ca.pem')}]\n`,
    );
    const tested = flowship('test', 'config', '-c', config);
    assert.equal(tested.status, 1, tested.stderr);
    assert.equal(tested.stdout, '');
    assert.match(tested.stderr, UNREADABLE_CA);
    const ran = flowship('run', '-c', config, '-E', `path.data=${join(dir, 'data')}`);
    assert.equal(ran.status, 1, ran.stderr);
    assert.equal(ran.stderr, tested.stderr, 'run says the same');
  });

  it('output.elasticsearch with readable settings: Config OK', () => {
    const config = configFile(
      'es-ok.yml',
      'flowship.inputs: [{type: netflow}]\noutput.elasticsearch:\n  hosts: ["https://localhost:9200"]\n',
    );
    const r = flowship('test', 'config', '-c', config);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'Config OK\n');
  });

  it('a configuration run accepts: Config OK, exit 0', () => {
    const config = configFile('ok.yml', 'flowship.inputs: [{type: netflow}]\noutput.console: {}\n');
    const r = flowship('test', 'config', '-c', config);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'Config OK\n');
  });

  it('output.elasticsearch disabled, another output enabled: Config OK', () => {
    const config = configFile(
      'es-off.yml',
      'flowship.inputs: [{type: netflow}]\noutput.elasticsearch: {enabled: false, hosts: [x]}\noutput.console: {}\n',
    );
    const r = flowship('test', 'config', '-c', config);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'Config OK\n');
  });
});
