/**
 * Runs the benchmarks of issues 6 and 17 in sequence, or the ones named on the command line:
 *
 *   npx tsx bench/run.ts [api-create] [burn-down] [latency] [scale] [checks] [memory]
 *
 * `make bench` runs all six through scripts/test-services.sh, which provides MySQL/MariaDB and Redis. Each
 * benchmark gets fresh databases and stream names, prints a table and writes bench/results/<name>.json.
 *
 * Environment: BENCH_SCALE (multiplies sizes and durations; 0.1 for a quick check), BENCH_PROFILE=1 (--cpu-prof
 * on the Vigil children, summarised after each benchmark), BENCH_KEEP_LOGS=1, BENCH_VERBOSE=1,
 * BENCH_VIGIL_LOG_LEVEL (default info, Vigil's own default), BENCH_RUNTIME=tsx (run the children through tsx
 * instead of compiling them into bench/.build first).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runApiCreate } from './api-create.js';
import { runBurnDown } from './burn-down.js';
import { runChecks } from './checks.js';
import { runLatency } from './latency.js';
import { runMemory } from './memory.js';
import { summariseProfiles } from './profile.js';
import { runScale } from './scale.js';
import {
  type BenchOutcome,
  PROFILE,
  RESULTS_DIR,
  RUNTIME,
  SCALE,
  dropAllDatabases,
  machineInfo,
  prepareRuntime,
  removeLogDir,
  stopAllChildren,
  writeResult,
} from './support.js';

const BENCHMARKS: Record<string, () => Promise<BenchOutcome>> = {
  'api-create': runApiCreate,
  'burn-down': runBurnDown,
  latency: runLatency,
  scale: runScale,
  checks: runChecks,
  memory: runMemory,
};

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`bench: ${signal}, stopping children\n`);
    void stopAllChildren(3000)
      .then(() => dropAllDatabases())
      .finally(() => {
        removeLogDir();
        process.exit(130);
      });
  });
}

async function main(): Promise<number> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !(n in BENCHMARKS));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}\n`);
    return 2;
  }
  const selected = names.length > 0 ? names : Object.keys(BENCHMARKS);
  prepareRuntime();
  const machine = await machineInfo();
  process.stdout.write(
    `vigil bench: ${selected.join(', ')} | BENCH_SCALE=${SCALE} | children: ${RUNTIME} | ${machine.cpus} × ${machine.cpuModel} | node ${machine.node} | ` +
      `MySQL ${machine.mysql} | Redis ${machine.redis} | load ${machine.loadAvgAtStart.join(' ')}\n`,
  );
  let failures = 0;
  const tables: string[] = [];
  for (const name of selected) {
    const run = BENCHMARKS[name] as () => Promise<BenchOutcome>;
    const startedAt = new Date();
    process.stderr.write(`\nbench: ${name} started at ${startedAt.toISOString()}\n`);
    try {
      const outcome = await run();
      tables.push(writeResult(name, machine, outcome, startedAt));
      if (PROFILE) summariseProfiles(name);
    } catch (err) {
      failures += 1;
      process.stderr.write(`bench: ${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    } finally {
      await stopAllChildren();
    }
    if (interrupted) break;
  }
  if (names.length === 0) {
    const header = `Made by \`make bench\` (BENCH_SCALE=${SCALE}) on ${new Date().toISOString().slice(0, 10)}: ${machine.cpus} × ${machine.cpuModel}, node ${machine.node}, MySQL ${machine.mysql}, Redis ${machine.redis}.\n`;
    writeFileSync(join(RESULTS_DIR, 'summary.md'), `${header}${tables.join('\n')}`);
  }
  return failures === 0 ? 0 : 1;
}

const code = await main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
});
await stopAllChildren();
removeLogDir();
process.exit(code);
