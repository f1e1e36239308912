/**
 * The node-local address the DNS server listens on (the cluster DNS IP),
 * held by a dummy interface of our own, as NodeLocal DNSCache does: pods
 * reach it through the node's routing with no DNAT.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface IfaceOptions {
  /** Run in this named network namespace (`ip -n NAME`), for tests. */
  netns?: string;
}

async function ip(args: string[], opts: IfaceOptions): Promise<string> {
  const full = opts.netns ? ['-n', opts.netns, ...args] : args;
  const { stdout } = await exec('ip', full);
  return stdout;
}

async function linkExists(ifname: string, opts: IfaceOptions): Promise<boolean> {
  try {
    await ip(['link', 'show', 'dev', ifname], opts);
    return true;
  } catch {
    return false;
  }
}

async function addresses(ifname: string, opts: IfaceOptions): Promise<string[]> {
  const out = await ip(['-o', '-4', 'addr', 'show', 'dev', ifname], opts);
  return [...out.matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\/\d+/g)].map((m) => m[1]!);
}

/**
 * A dummy link; on kernels built without the dummy driver ("Unknown device
 * type", e.g. some microVM kernels), an empty bridge, which holds a local
 * address the same way: no port is ever added, so nothing is bridged.
 */
async function addLink(ifname: string, opts: IfaceOptions): Promise<void> {
  try {
    await ip(['link', 'add', ifname, 'type', 'dummy'], opts);
  } catch (e) {
    const stderr = e instanceof Error && 'stderr' in e ? String(e.stderr) : '';
    if (!/Unknown device type|not supported/i.test(stderr)) throw e;
    await ip(['link', 'add', ifname, 'type', 'bridge'], opts);
  }
}

/** Makes `ip`/32 exist on the dummy interface `ifname` (created and brought up if missing); idempotent. */
export async function ensureDnsAddress(addr: string, ifname = 'orch-dns', opts: IfaceOptions = {}): Promise<void> {
  if (!(await linkExists(ifname, opts))) {
    try {
      await addLink(ifname, opts);
    } catch (e) {
      // Lost a race with another caller: fine if it exists now.
      if (!(await linkExists(ifname, opts))) throw e;
    }
  }
  await ip(['link', 'set', 'dev', ifname, 'up'], opts);
  if (!(await addresses(ifname, opts)).includes(addr)) await ip(['addr', 'add', `${addr}/32`, 'dev', ifname], opts);
}

/** Removes `ip` from `ifname`, and the interface once it holds no address; idempotent. */
export async function removeDnsAddress(addr: string, ifname = 'orch-dns', opts: IfaceOptions = {}): Promise<void> {
  if (!(await linkExists(ifname, opts))) return;
  if ((await addresses(ifname, opts)).includes(addr)) await ip(['addr', 'del', `${addr}/32`, 'dev', ifname], opts);
  if ((await addresses(ifname, opts)).length === 0) await ip(['link', 'del', 'dev', ifname], opts);
}
