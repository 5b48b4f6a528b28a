/**
 * Summarises the V8 CPU profiles (`--cpu-prof`) the Vigil children wrote under bench/results/profiles/<label>/:
 * self time by function and by area (a package in node_modules, a Vigil package, Node's internals, GC, idle).
 *
 * Usage: npx tsx bench/profile.ts <profile dir or .cpuprofile>...   (run.ts calls it when BENCH_PROFILE=1)
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RESULTS_DIR, ROOT } from './support.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function areaOf(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0] === 'internal' ? url.slice(14).split('/')[0] : url.slice(5)}`;
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 14).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? '?');
  }
  const rel = relative(ROOT, path).replace(/^bench\/\.build\//, '');
  const parts = rel.split('/');
  return parts[0] === 'internal' ? `vigil:${parts[1]}` : rel;
}

/** Self time per function and per area of one profile, in ms. */
export function summariseProfile(file: string, top = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i += 1) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const totalUs = Math.max(1, profile.endTime - profile.startTime);
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url === '' ? '' : ` ${areaOf(url, functionName)}:${relative(ROOT, url.replace(/^file:\/\//, '')).split('/').pop()}:${lineNumber + 1}`;
    const key = `${functionName || '(anonymous)'}${where}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const busyUs = totalUs - (areas.get('(idle)') ?? 0);
  const fmt = (entries: Map<string, number>, n: number) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `  ${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / totalUs).toFixed(1).padStart(5)}% ${((100 * us) / Math.max(1, busyUs)).toFixed(1).padStart(5)}%b  ${k}`)
      .join('\n');
  return [
    `${relative(ROOT, file)}: ${(totalUs / 1e6).toFixed(1)} s profiled, ${(busyUs / 1e6).toFixed(1)} s busy (not idle)`,
    '  self time by area (% of wall, % of busy):',
    fmt(areas, 20),
    `  top ${top} functions by self time:`,
    fmt(fns, top),
  ].join('\n');
}

function profilesIn(path: string): string[] {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(path, f));
}

/** Prints and saves (summary.txt beside them) the summaries of every profile a benchmark's children wrote. */
export function summariseProfiles(bench: string): void {
  const root = join(RESULTS_DIR, 'profiles');
  if (!existsSync(root)) return;
  for (const dir of readdirSync(root).filter((d) => d.startsWith(bench))) {
    const files = profilesIn(join(root, dir));
    if (files.length === 0) continue;
    const text = files.map((f) => summariseProfile(f)).join('\n\n');
    writeFileSync(join(root, dir, 'summary.txt'), `${text}\n`);
    process.stdout.write(`\nprofile ${dir}:\n${text}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const arg of process.argv.slice(2)) {
    for (const file of profilesIn(arg)) process.stdout.write(`${summariseProfile(file)}\n\n`);
  }
}
