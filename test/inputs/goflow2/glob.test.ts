import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeFs } from '../../../src/inputs/goflow2/fs-port.ts';
import { expandBraces, globMatcher, parseGlob, walkGlob } from '../../../src/inputs/goflow2/glob.ts';

describe('globMatcher (exclude: micromatch with dot and basename)', () => {
  it('a pattern without a slash matches the base name: *.gz matches /var/log/x.gz', () => {
    const m = globMatcher(['*.gz']);
    assert.equal(m('/var/log/sflow/goflow2/x.log.gz'), true);
    assert.equal(m('/var/log/sflow/goflow2/x.log'), false);
  });
  it('* matches dot files (Go semantics)', () => {
    assert.equal(globMatcher(['*.tmp'])('/d/.hidden.tmp'), true);
    assert.equal(globMatcher(['/d/*'])('/d/.hidden'), true);
  });
  it('a pattern with a slash matches the whole path; ** spans directories', () => {
    const m = globMatcher(['/var/log/**/old/*.log']);
    assert.equal(m('/var/log/old/a.log'), true);
    assert.equal(m('/var/log/x/y/old/a.log'), true);
    assert.equal(m('/var/log/x/y/new/a.log'), false);
    assert.equal(globMatcher(['/a/**'])('/a/b/c'), true);
    assert.equal(globMatcher(['**/c'])('/a/b/c'), true);
  });
  it('classes, ?, escapes and braces', () => {
    const m = globMatcher(['x[0-9].{log,txt}', 'y?.log', 'z\\*.log', 'w[!a].log']);
    assert.equal(m('/d/x1.log'), true);
    assert.equal(m('/d/x1.txt'), true);
    assert.equal(m('/d/xa.log'), false);
    assert.equal(m('/d/y1.log'), true);
    assert.equal(m('/d/z*.log'), true);
    assert.equal(m('/d/zz.log'), false);
    assert.equal(m('/d/wb.log'), true);
    assert.equal(m('/d/wa.log'), false);
  });
  it('no patterns match nothing', () => {
    assert.equal(globMatcher([])('/a'), false);
  });
});

describe('expandBraces / parseGlob', () => {
  it('expands nested alternatives', () => {
    assert.deepEqual(expandBraces('/a/{b,c{1,2}}.log').sort(), ['/a/b.log', '/a/c1.log', '/a/c2.log']);
    assert.deepEqual(expandBraces('/a/{b}.log'), ['/a/{b}.log']);
  });
  it('finds the base directory and whether the watch must recurse', () => {
    const g = parseGlob('/var/log/sflow/goflow2/*.log');
    assert.equal(g.base, '/var/log/sflow/goflow2');
    assert.equal(g.deep, false);
    const d = parseGlob('/var/log/**/*.log');
    assert.equal(d.base, '/var/log');
    assert.equal(d.deep, true);
    assert.equal(parseGlob('/x.log').base, '/');
  });
});

describe('walkGlob', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flowship-glob-'));
    let d = dir;
    for (let i = 1; i <= 10; i++) {
      d = join(d, `l${i}`);
      await mkdir(d);
      await writeFile(join(d, 'f.log'), 'x');
    }
    await writeFile(join(dir, 'top.log'), 'x');
    await writeFile(join(dir, '.dot.log'), 'x');
    await symlink(join(dir, 'top.log'), join(dir, 'link.log'));
    await symlink(join(dir, 'l1'), join(dir, 'linkdir'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('* matches dot files; symlinks are reported as such', async () => {
    const found = await walkGlob(nodeFs, parseGlob(`${dir}/*.log`), { followSymlinkDirs: false });
    const names = found.map((f) => [f.path.slice(dir.length + 1), f.type]).sort();
    assert.deepEqual(names, [
      ['.dot.log', 'file'],
      ['link.log', 'symlink'],
      ['top.log', 'file'],
    ]);
  });

  it('** stands for zero to 8 directory levels', async () => {
    const found = await walkGlob(nodeFs, parseGlob(`${dir}/**/f.log`), { followSymlinkDirs: false });
    const depths = found.map((f) => f.path.slice(dir.length).split('/').length - 2).sort((a, b) => a - b);
    assert.deepEqual(depths, [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('descends symlinked directories only when asked', async () => {
    const off = await walkGlob(nodeFs, parseGlob(`${dir}/linkdir/*.log`), { followSymlinkDirs: false });
    assert.equal(off.length, 1, 'a literal base is resolved by the OS');
    const star = await walkGlob(nodeFs, parseGlob(`${dir}/*/f.log`), { followSymlinkDirs: false });
    assert.deepEqual(
      star.map((f) => f.path.slice(dir.length + 1)),
      ['l1/f.log'],
    );
    const on = await walkGlob(nodeFs, parseGlob(`${dir}/*/f.log`), { followSymlinkDirs: true });
    assert.deepEqual(on.map((f) => f.path.slice(dir.length + 1)).sort(), ['l1/f.log', 'linkdir/f.log']);
  });

  it('a missing base matches nothing', async () => {
    assert.deepEqual(
      await walkGlob(nodeFs, parseGlob(`${dir}/nope/*.log`), { followSymlinkDirs: false }),
      [],
    );
  });
});
