/**
 * The labels every runtime puts on what it creates (see LABELS): the same
 * for Docker and the hollow runtime, so adoption and listing read them back
 * the same way.
 */
import { LABELS, type ContainerSpec, type SandboxSpec } from './types.js';

/** Labels of a pod's sandbox (pause container). */
export function sandboxLabels(spec: SandboxSpec): Record<string, string> {
  return {
    [LABELS.podUid]: spec.podUid,
    [LABELS.podNamespace]: spec.namespace,
    [LABELS.podName]: spec.name,
    [LABELS.containerName]: 'POD',
    [LABELS.type]: 'podsandbox',
    [LABELS.node]: spec.nodeName,
  };
}

/** Labels of an app or init container. */
export function containerLabels(spec: ContainerSpec): Record<string, string> {
  return {
    [LABELS.podUid]: spec.podUid,
    [LABELS.podNamespace]: spec.namespace,
    [LABELS.podName]: spec.podName,
    [LABELS.containerName]: spec.name,
    [LABELS.type]: 'container',
    [LABELS.node]: spec.nodeName,
    [LABELS.containerKind]: spec.kind,
    [LABELS.restartCount]: String(spec.restartCount),
    [LABELS.specHash]: spec.specHash,
    [LABELS.terminationGracePeriod]: String(spec.terminationGracePeriodSeconds),
  };
}
