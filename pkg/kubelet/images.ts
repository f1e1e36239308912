/**
 * Making a container's image present, as the kubelet's image manager:
 * imagePullPolicy Always / IfNotPresent / Never, events Pulling / Pulled /
 * Failed / BackOff, ErrImagePull then ImagePullBackOff with back-off,
 * ErrImageNeverPull; and air-gap image archives loaded at start.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Container } from 'kubernetes-types/core/v1.js';
import type { Backoff } from './backoff.js';
import { ImageError, type ContainerRuntime } from './runtime/types.js';

/** Why an image is not there: the container's waiting reason and message. */
export class ImagePullError extends Error {
  constructor(
    /** 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName' */
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ImagePullError';
  }
}

export type ImageEvent = (type: 'Normal' | 'Warning', reason: string, message: string) => void;

/** The pull policy Kubernetes defaults to: Always for :latest or no tag, else IfNotPresent. */
export function pullPolicy(c: Container): 'Always' | 'IfNotPresent' | 'Never' {
  const p = c.imagePullPolicy;
  if (p === 'Always' || p === 'IfNotPresent' || p === 'Never') return p;
  const image = c.image ?? '';
  if (image.includes('@')) return 'IfNotPresent';
  const tail = image.slice(image.lastIndexOf('/') + 1);
  const colon = tail.indexOf(':');
  const tag = colon < 0 ? undefined : tail.slice(colon + 1);
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** Makes the image of `c` present; throws ImagePullError with the waiting reason. */
export async function ensureImage(c: Container, podUid: string, deps: { runtime: ContainerRuntime; backoff: Backoff; event: ImageEvent; nowMs: () => number }): Promise<void> {
  const image = c.image ?? '';
  if (!image) throw new ImagePullError('InvalidImageName', 'Failed to apply default image tag "": couldn\'t parse image name "": invalid reference format');
  const policy = pullPolicy(c);
  const present = await deps.runtime.hasImage(image);
  if (policy === 'Never' || (policy === 'IfNotPresent' && present)) {
    if (present) {
      deps.event('Normal', 'Pulled', `Container image "${image}" already present on machine`);
      return;
    }
    const msg = `Container image "${image}" is not present with pull policy of Never`;
    deps.event('Warning', 'ErrImageNeverPull', msg);
    throw new ImagePullError('ErrImageNeverPull', msg);
  }
  const key = `${podUid}/${image}`;
  if (deps.backoff.remainingSinceUpdate(key, deps.nowMs()) > 0) {
    const msg = `Back-off pulling image "${image}"`;
    deps.event('Normal', 'BackOff', msg);
    throw new ImagePullError('ImagePullBackOff', msg);
  }
  deps.event('Normal', 'Pulling', `Pulling image "${image}"`);
  const started = deps.nowMs();
  try {
    await deps.runtime.pullImage(image);
  } catch (e) {
    deps.backoff.next(key, deps.nowMs());
    const detail = e instanceof Error ? e.message : String(e);
    deps.event('Warning', 'Failed', `Failed to pull image "${image}": ${detail}`);
    deps.event('Warning', 'Failed', 'Error: ErrImagePull');
    throw new ImagePullError(e instanceof ImageError && e.reason === 'InvalidImageName' ? 'InvalidImageName' : 'ErrImagePull', detail);
  }
  deps.backoff.reset(key);
  const secs = ((deps.nowMs() - started) / 1000).toFixed(3);
  deps.event('Normal', 'Pulled', `Successfully pulled image "${image}" in ${secs}s (${secs}s including waiting)`);
}

const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.zst|tar\.xz|tar\.bz2)$/;

/** Loads every image archive in `dir` (air-gap images, as k3s' agent/images); returns the refs loaded. Missing dir: nothing. */
export async function loadImageArchives(runtime: ContainerRuntime, dir: string, onError: (file: string, e: unknown) => void): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const loaded: string[] = [];
  for (const n of names.filter((x) => ARCHIVE.test(x)).sort()) {
    try {
      loaded.push(...(await runtime.loadImageArchive(join(dir, n))));
    } catch (e) {
      onError(join(dir, n), e);
    }
  }
  return loaded;
}
