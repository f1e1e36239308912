/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by module
 * (the repo folder or package a function lives in) and by function, so a
 * benchmark that misses its target says where the server's CPU went.
 * Usage: node --import=tsx scripts/bench/profile-summary.ts FILE.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function isProfile(v: unknown): v is Profile {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  return Array.isArray(p.nodes) && Array.isArray(p.samples) && Array.isArray(p.timeDeltas);
}

/** The module a script URL belongs to: repo folder (two levels), npm package, node internal, or a V8 pseudo-frame. */
export function moduleOf(url: string, functionName: string): string {
  if (url === '') return `(${functionName || 'native'})`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) {
    const parts = url.slice(dist + '/dist/'.length).split('/');
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  return url;
}

function shortFile(url: string): string {
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  return url;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
if (positionals.length !== 1) {
  process.stderr.write('usage: profile-summary.ts FILE.cpuprofile [--top N]\n');
  process.exit(2);
}
const raw: unknown = JSON.parse(readFileSync(positionals[0], 'utf8'));
if (!isProfile(raw)) throw new Error(`${positionals[0]}: not a V8 cpuprofile`);
const top = Number(values.top);
const byId = new Map(raw.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
for (let i = 0; i < raw.samples.length; i++) selfUs.set(raw.samples[i], (selfUs.get(raw.samples[i]) ?? 0) + (raw.timeDeltas[i] ?? 0));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const idle = [...selfUs].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, v]) => a + v, 0);
const busy = total - idle;

const modules = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  if (!n || n.callFrame.functionName === '(idle)') continue;
  const { url, functionName, lineNumber } = n.callFrame;
  const m = moduleOf(url, functionName);
  modules.set(m, (modules.get(m) ?? 0) + us);
  const f = `${functionName || '(anonymous)'}  ${url ? `${shortFile(url)}:${lineNumber + 1}` : ''}`;
  functions.set(f, (functions.get(f) ?? 0) + us);
}

// Library and native time charged to the nearest orch function up the stack: "who asked for this work".
const parent = new Map<number, number>();
for (const n of raw.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const isOrch = (url: string) => url.includes('/dist/') && !url.includes('/node_modules/');
const charged = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  if (!n || n.callFrame.functionName === '(idle)') continue;
  let cur: ProfileNode | undefined = n;
  while (cur && !isOrch(cur.callFrame.url)) cur = byId.get(parent.get(cur.id) ?? -1);
  const key = cur ? `${cur.callFrame.functionName || '(anonymous)'}  ${shortFile(cur.callFrame.url)}:${cur.callFrame.lineNumber + 1}` : `(no orch frame) ${n.callFrame.functionName}`;
  charged.set(key, (charged.get(key) ?? 0) + us);
}

const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
const secs = (us: number) => `${(us / 1e6).toFixed(2).padStart(7)} s`;
console.log(`${positionals[0]}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (${((100 * busy) / total).toFixed(0)} %), ${(idle / 1e6).toFixed(1)} s idle`);
console.log(`\nself time by module (share of busy time):`);
for (const [m, us] of [...modules].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${secs(us)} ${pct(us)}  ${m}`);
console.log(`\nself time by function:`);
for (const [f, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${secs(us)} ${pct(us)}  ${f}`);
console.log(`\nself time charged to the nearest orch function up the stack (libraries, JSON, natives included):`);
for (const [f, us] of [...charged].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${secs(us)} ${pct(us)}  ${f}`);
