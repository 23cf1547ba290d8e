/**
 * `npm run bench`: runs every benchmark and prints one table per benchmark with the machine it
 * ran on, so numbers can be compared across commits. `BENCH_SECONDS` sets the timing per case.
 */
import { cpus, totalmem } from 'node:os';
import { ELASTICSEARCH_BENCH_SETUP, runElasticsearchBench } from './elasticsearch.ts';
import { runGoflow2Bench } from './goflow2-tail.ts';
import { runNetflowDecodeBench } from './netflow-decode.ts';
import { netflowReceiveBenchSetup, runNetflowReceiveBench } from './netflow-receive.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 3);

function table(rows: Array<Record<string, string>>): string {
  const headers = Object.keys(rows[0]);
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => r[h].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map((r) => line(headers.map((h) => r[h]))),
  ].join('\n');
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
process.stdout.write(
  `machine: ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; node ${process.version}; ${new Date().toISOString()}\n\n`,
);
process.stdout.write(`## decode -> ECS -> NDJSON (netflow)\n\n${table(runNetflowDecodeBench(seconds))}\n`);
const receive = await runNetflowReceiveBench(seconds);
process.stdout.write(
  `\n## netflow: highest zero-drop rate over UDP, flowship vs GoFlow2\n\n${netflowReceiveBenchSetup(seconds)}\n\n${table(receive)}\n`,
);
const goflow2 = await runGoflow2Bench(seconds);
process.stdout.write(`\n## goflow2: tail -> ECS -> NDJSON\n\n${table(goflow2.throughput)}\n`);
process.stdout.write(`\n## goflow2: memory while following many files\n\n${table(goflow2.memory)}\n`);
const elasticsearch = await runElasticsearchBench(seconds);
process.stdout.write(
  `\n## Elasticsearch output: documents/s into a local Elasticsearch\n\n${ELASTICSEARCH_BENCH_SETUP}\n\n${table(elasticsearch)}\n`,
);
