/** The plugin registry: name → factory, and the default profile's order. */
import type { PluginFactory } from '../types.js';
import { leastAllocated, NAME as LEAST_ALLOCATED } from './least-allocated.js';
import { nodeAffinity, NAME as NODE_AFFINITY } from './node-affinity.js';
import { nodeName, NAME as NODE_NAME } from './node-name.js';
import { nodePorts, NAME as NODE_PORTS } from './node-ports.js';
import { nodeReady, NAME as NODE_READY } from './node-ready.js';
import { nodeResourcesFit, NAME as NODE_RESOURCES_FIT } from './node-resources-fit.js';
import { nodeUnschedulable, NAME as NODE_UNSCHEDULABLE } from './node-unschedulable.js';
import { selectorSpread, NAME as SELECTOR_SPREAD } from './selector-spread.js';
import { taintToleration, NAME as TAINT_TOLERATION } from './taint-toleration.js';

/** Every plugin by name. */
export const registry: ReadonlyMap<string, PluginFactory> = new Map<string, PluginFactory>([
  [NODE_UNSCHEDULABLE, nodeUnschedulable],
  [NODE_NAME, nodeName],
  [TAINT_TOLERATION, taintToleration],
  [NODE_READY, nodeReady],
  [NODE_AFFINITY, nodeAffinity],
  [NODE_PORTS, nodePorts],
  [NODE_RESOURCES_FIT, nodeResourcesFit],
  [LEAST_ALLOCATED, leastAllocated],
  [SELECTOR_SPREAD, selectorSpread],
]);

/**
 * The default profile, in kube-scheduler's filter order: a node reports only
 * the first filter that rejects it, so the order decides the message
 * (a cordoned node says "unschedulable", not "untolerated taint").
 */
export const DEFAULT_PLUGINS: readonly string[] = [
  NODE_UNSCHEDULABLE,
  NODE_NAME,
  TAINT_TOLERATION,
  NODE_READY,
  NODE_AFFINITY,
  NODE_PORTS,
  NODE_RESOURCES_FIT,
  LEAST_ALLOCATED,
  SELECTOR_SPREAD,
];

/** An unknown plugin name in a profile. */
export class UnknownPluginError extends Error {
  override readonly name = 'UnknownPluginError';
}

/** Instantiates plugins by name, in order. */
export function buildPlugins(names: readonly string[] = DEFAULT_PLUGINS): ReturnType<PluginFactory>[] {
  return names.map((n) => {
    const factory = registry.get(n);
    if (!factory) throw new UnknownPluginError(`unknown scheduler plugin "${n}"`);
    return factory();
  });
}
