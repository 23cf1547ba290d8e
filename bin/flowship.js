#!/usr/bin/env node
// Entry point of the `flowship` executable. The sources are TypeScript run by Node's type
// stripping, which needs Node 22.18 or newer; say so plainly instead of failing on syntax.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `flowship needs Node.js 22.18 or newer (this is ${process.versions.node}). ` +
      'Run it through npm (npm start), which uses the Node 24 that npm ci installed, or install Node 24.\n',
  );
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
// Every command finishes within its own time limits, but a write it gave up on (a console output
// to a pipe nobody reads, after the shutdown timeout) still holds the event loop: leave anyway.
setTimeout(() => process.exit(), 2000).unref();
