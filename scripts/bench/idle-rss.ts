/**
 * Resident memory of an idle `orch server`: start it, do a little work
 * (a namespace, a few ConfigMaps and a Deployment, a list, a watch that stays
 * open), wait 30 s idle (V8's memory reducer gives back the young
 * generation some seconds after the last burst), then read VmRSS (and the peak, VmHWM) from
 * /proc/<pid>/status. Target: RSS < 100 MB.
 * Requires `npm run build` first.
 * Usage: node --import=tsx scripts/bench/idle-rss.ts [--idle 30]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { adminToken, requireBuild, rssMiB, startReadyServer, trustingAgent } from './lib/orch-process.js';

const { values } = parseArgs({ options: { idle: { type: 'string', default: '30' } } });
const idleS = Number(values.idle);
requireBuild();

const dir = mkdtempSync(join(tmpdir(), 'orch-bench-rss-'));
const server = await startReadyServer(dir);
const agent = trustingAgent(dir, 4);
const base = `https://127.0.0.1:${server.port}`;
const headers = { authorization: `Bearer ${adminToken(dir)}`, 'content-type': 'application/json' };
const watchAbort = new AbortController();

async function send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<number> {
  const r = await request(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), dispatcher: agent });
  await r.body.dump();
  return r.statusCode;
}

function expect(code: number, want: number, what: string): void {
  if (code !== want) throw new Error(`${what}: HTTP ${code}, wanted ${want}`);
}

try {
  const pid = server.child.pid ?? 0;
  const atReady = rssMiB(pid);
  expect(await send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'rss' } }), 201, 'namespace');
  for (let i = 0; i < 10; i++) {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { k: 'v'.repeat(200) } };
    expect(await send('POST', '/api/v1/namespaces/rss/configmaps', cm), 201, 'configmap');
  }
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
    },
  };
  expect(await send('POST', '/apis/apps/v1/namespaces/rss/deployments', deployment), 201, 'deployment');
  expect(await send('GET', '/api/v1/namespaces/rss/configmaps'), 200, 'list');
  expect(await send('GET', '/api/v1/pods'), 200, 'list pods');
  // A watch that stays open through the idle period, as an informer's would.
  const watch = await request(`${base}/api/v1/namespaces/rss/configmaps?watch=1&resourceVersion=0`, {
    headers,
    dispatcher: agent,
    signal: watchAbort.signal,
  });
  expect(watch.statusCode, 200, 'watch');
  watch.body.on('data', () => {});
  watch.body.on('error', () => {}); // aborted at the end
  expect(await send('POST', '/api/v1/namespaces/rss/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'seen' } }), 201, 'configmap');

  await new Promise((r) => setTimeout(r, idleS * 1000));
  const idle = rssMiB(pid);
  const peak = rssMiB(pid, 'VmHWM');
  console.log(`orch server resident memory (node ${process.version}, --disable-agent, one open watch)`);
  console.log(`at first /readyz 200: ${atReady.toFixed(1)} MiB`);
  console.log(`after a little work and ${idleS} s idle: VmRSS ${idle.toFixed(1)} MiB (peak VmHWM ${peak.toFixed(1)} MiB)`);
  console.log(`target < 100 MB: ${idle * 1.048576 < 100 ? 'ok' : 'OVER TARGET'} (${(idle * 1.048576).toFixed(1)} MB)`);
} finally {
  watchAbort.abort();
  await agent.close().catch(() => {});
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
