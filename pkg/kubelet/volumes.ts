/**
 * Pod volumes on the node: emptyDir under the pod's directory (removed with
 * the pod), hostPath with its type checks, configMap / secret / downwardAPI
 * / projected written as files; volumeMounts turned into runtime bind mounts.
 *
 * Layout as the kubelet's: <dataDir>/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>.
 * emptyDir with medium Memory is an ordinary directory (no tmpfs: that
 * would need mount privileges the agent may not have).
 */
import { chmod, lstat, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import type { ConfigMap, Container, KeyToPath, Pod, Secret, Volume } from 'kubernetes-types/core/v1.js';
import { expand, formatMap, podFieldValue, resourceFieldValue } from './env.js';
import type { Mount } from './runtime/types.js';

/** A volume that cannot be set up yet (FailedMount; the pod waits and is retried). */
export class MountError extends Error {
  constructor(
    readonly volume: string,
    detail: string,
  ) {
    super(`MountVolume.SetUp failed for volume "${volume}" : ${detail}`);
    this.name = 'MountError';
  }
}

export interface VolumeContext {
  dataDir: string;
  nodeIP: string;
  podIP?: string;
  getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  getSecret(namespace: string, name: string): Promise<Secret | undefined>;
}

/** The pod's directory on the node. */
export function podDir(dataDir: string, uid: string): string {
  return join(dataDir, 'pods', uid);
}

const PLUGIN: Record<string, string> = {
  emptyDir: 'empty-dir',
  configMap: 'configmap',
  secret: 'secret',
  downwardAPI: 'downward-api',
  projected: 'projected',
};

type FileSet = Map<string, { data: Buffer; mode: number }>;

/** Checks a relative path stays inside its volume. */
function safeRelative(p: string, volume: string): string {
  const n = normalize(p);
  if (isAbsolute(n) || n === '..' || n.startsWith(`..${sep}`)) throw new MountError(volume, `invalid path ${JSON.stringify(p)}: must be relative and may not contain '..'`);
  return n;
}

function project(files: FileSet, data: Record<string, Buffer>, items: KeyToPath[] | undefined, mode: number, volume: string, what: string, optional: boolean): void {
  if (!items || items.length === 0) {
    for (const [k, v] of Object.entries(data)) files.set(safeRelative(k, volume), { data: v, mode });
    return;
  }
  for (const it of items) {
    const v = data[it.key];
    if (v === undefined) {
      if (optional) continue;
      throw new MountError(volume, `configmap references non-existent config key: ${it.key}`.replace('configmap', what));
    }
    files.set(safeRelative(it.path, volume), { data: v, mode: it.mode ?? mode });
  }
}

function configMapData(cm: ConfigMap): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) out[k] = Buffer.from(v, 'utf8');
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}

function secretData(s: Secret): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}

/** Replaces the files of a projected volume (written to a temp name, then renamed; stale files removed). */
async function writeFiles(dir: string, files: FileSet): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const [rel, f] of files) {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    const tmp = `${path}.orch-tmp`;
    await writeFile(tmp, f.data, { mode: f.mode });
    await chmod(tmp, f.mode);
    await rename(tmp, path);
  }
  const wanted = new Set(files.keys());
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const rel = join(entry.parentPath ?? dir, entry.name).slice(dir.length + 1);
    if (!wanted.has(rel)) await rm(join(dir, rel), { force: true });
  }
}

async function checkHostPath(path: string, type: string, volume: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  const fail = (what: string): never => {
    throw new MountError(volume, `hostPath type check failed: ${path} is not ${what}`);
  };
  switch (type) {
    case '':
      return;
    case 'DirectoryOrCreate':
      if (!info) await mkdir(path, { recursive: true, mode: 0o755 });
      else if (!info.isDirectory()) fail('a directory');
      return;
    case 'Directory':
      if (!info?.isDirectory()) fail('a directory');
      return;
    case 'FileOrCreate':
      if (!info) {
        await mkdir(dirname(path), { recursive: true, mode: 0o755 });
        await writeFile(path, '', { mode: 0o644, flag: 'a' });
      } else if (!info.isFile()) fail('a file');
      return;
    case 'File':
      if (!info?.isFile()) fail('a file');
      return;
    case 'Socket':
      if (!info?.isSocket()) fail('a socket file');
      return;
    case 'CharDevice':
      if (!info?.isCharacterDevice()) fail('a character device');
      return;
    case 'BlockDevice':
      if (!info?.isBlockDevice()) fail('a block device');
      return;
    default:
      throw new MountError(volume, `hostPath type ${JSON.stringify(type)} is not supported`);
  }
}

async function volumeFiles(pod: Pod, v: Volume, ctx: VolumeContext): Promise<FileSet> {
  const ns = pod.metadata?.namespace ?? 'default';
  const files: FileSet = new Map();
  const addConfigMap = async (name: string, items: KeyToPath[] | undefined, mode: number, optional: boolean): Promise<void> => {
    const cm = await ctx.getConfigMap(ns, name);
    if (!cm) {
      if (optional) return;
      throw new MountError(v.name, `configmap "${name}" not found`);
    }
    project(files, configMapData(cm), items, mode, v.name, 'configmap', optional);
  };
  const addSecret = async (name: string, items: KeyToPath[] | undefined, mode: number, optional: boolean): Promise<void> => {
    const s = await ctx.getSecret(ns, name);
    if (!s) {
      if (optional) return;
      throw new MountError(v.name, `secret "${name}" not found`);
    }
    project(files, secretData(s), items, mode, v.name, 'secret', optional);
  };
  const addDownward = (items: NonNullable<Volume['downwardAPI']>['items'], mode: number): void => {
    for (const it of items ?? []) {
      let value = '';
      if (it.fieldRef) value = it.fieldRef.fieldPath === 'metadata.labels' || it.fieldRef.fieldPath === 'metadata.annotations' ? formatMap(it.fieldRef.fieldPath === 'metadata.labels' ? pod.metadata?.labels : pod.metadata?.annotations) : podFieldValue(pod, it.fieldRef.fieldPath, ctx);
      else if (it.resourceFieldRef) {
        const c = pod.spec?.containers.find((x) => x.name === it.resourceFieldRef?.containerName) ?? pod.spec?.containers[0];
        if (c) value = resourceFieldValue(c, it.resourceFieldRef.resource, it.resourceFieldRef.divisor, {});
      }
      files.set(safeRelative(it.path, v.name), { data: Buffer.from(value), mode: it.mode ?? mode });
    }
  };
  if (v.configMap) await addConfigMap(v.configMap.name ?? '', v.configMap.items, v.configMap.defaultMode ?? 0o644, v.configMap.optional === true);
  else if (v.secret) await addSecret(v.secret.secretName ?? '', v.secret.items, v.secret.defaultMode ?? 0o644, v.secret.optional === true);
  else if (v.downwardAPI) addDownward(v.downwardAPI.items, v.downwardAPI.defaultMode ?? 0o644);
  else if (v.projected) {
    const mode = v.projected.defaultMode ?? 0o644;
    for (const src of v.projected.sources ?? []) {
      if (src.configMap) await addConfigMap(src.configMap.name ?? '', src.configMap.items, mode, src.configMap.optional === true);
      else if (src.secret) await addSecret(src.secret.name ?? '', src.secret.items, mode, src.secret.optional === true);
      else if (src.downwardAPI) addDownward(src.downwardAPI.items, mode);
      // serviceAccountToken sources are skipped: this kubelet issues no bound tokens.
    }
  }
  return files;
}

/** Sets up every volume of the pod; returns volume name → host path. Throws MountError. */
export async function setupVolumes(pod: Pod, ctx: VolumeContext): Promise<Map<string, string>> {
  const uid = pod.metadata?.uid ?? '';
  const base = join(podDir(ctx.dataDir, uid), 'volumes');
  const paths = new Map<string, string>();
  for (const v of pod.spec?.volumes ?? []) {
    if (v.hostPath) {
      await checkHostPath(v.hostPath.path, v.hostPath.type ?? '', v.name);
      paths.set(v.name, v.hostPath.path);
      continue;
    }
    const plugin = Object.keys(PLUGIN).find((k) => v[k as keyof Volume] !== undefined);
    if (!plugin) throw new MountError(v.name, 'volume type is not supported by this kubelet');
    const dir = join(base, `kubernetes.io~${PLUGIN[plugin]}`, v.name);
    if (plugin === 'emptyDir') {
      // World-writable as Kubernetes makes it, so non-root containers can use it; set once
      // at creation (setup runs again to refresh projected files: a chmod from inside stays).
      if ((await mkdir(dir, { recursive: true })) !== undefined) await chmod(dir, 0o777);
    } else {
      await writeFiles(dir, await volumeFiles(pod, v, ctx));
    }
    paths.set(v.name, dir);
  }
  return paths;
}

const READ_ONLY_KINDS: (keyof Volume)[] = ['configMap', 'secret', 'downwardAPI', 'projected'];

/** The bind mounts of a container from its volumeMounts (subPath created when missing, as the kubelet does). */
export async function containerMounts(pod: Pod, c: Container, volumePaths: Map<string, string>, env: { name: string; value: string }[]): Promise<Mount[]> {
  const out: Mount[] = [];
  const envMap = new Map(env.map((e) => [e.name, e.value]));
  for (const vm of c.volumeMounts ?? []) {
    const base = volumePaths.get(vm.name);
    if (base === undefined) throw new MountError(vm.name, `no volume ${JSON.stringify(vm.name)} in the pod`);
    const vol = pod.spec?.volumes?.find((v) => v.name === vm.name);
    let hostPath = base;
    const sub = vm.subPathExpr ? expand(vm.subPathExpr, (n) => envMap.get(n)) : vm.subPath;
    if (sub) {
      hostPath = join(base, safeRelative(sub, vm.name));
      const exists = await lstat(hostPath).catch(() => undefined);
      if (!exists) await mkdir(hostPath, { recursive: true, mode: 0o755 });
    }
    const forcedRO = vol !== undefined && READ_ONLY_KINDS.some((k) => vol[k] !== undefined);
    out.push({ hostPath, containerPath: vm.mountPath, readOnly: vm.readOnly === true || forcedRO });
  }
  return out;
}

/** Removes the pod's directory (volumes, hosts, resolv.conf). */
export async function cleanupPodDir(dataDir: string, uid: string): Promise<void> {
  if (!uid) return;
  await rm(podDir(dataDir, uid), { recursive: true, force: true });
}
