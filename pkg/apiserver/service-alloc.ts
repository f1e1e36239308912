/**
 * Service address allocation at write time, as Kubernetes does it: a
 * ClusterIP from the service CIDR and NodePorts from the node-port range,
 * never handed out twice, carried over on update, freed on delete.
 */
import type { KubeObject } from '../api/object.js';
import { isPlainObject } from '../api/object.js';
import { findResource } from '../api/registry.js';
import { AllocatorError, CidrAllocator, PortAllocator } from './allocators.js';
import { errors, type StatusCause } from './errors.js';
import type { KindHooks, WriteEffects } from './rest/hooks.js';

const SERVICES = findResource('', 'v1', 'services')!;

interface PortSpec {
  name?: string;
  port?: number;
  protocol?: string;
  nodePort?: number;
}

function specOf(o: KubeObject): Record<string, unknown> {
  if (!isPlainObject(o.spec)) o.spec = {};
  return o.spec as Record<string, unknown>;
}

function portsOf(spec: Record<string, unknown>): PortSpec[] {
  return Array.isArray(spec.ports) ? spec.ports.filter(isPlainObject).map((p) => p as PortSpec) : [];
}

function needsNodePorts(spec: Record<string, unknown>): boolean {
  return spec.type === 'NodePort' || spec.type === 'LoadBalancer';
}

function needsClusterIP(spec: Record<string, unknown>): boolean {
  return spec.type !== 'ExternalName' && spec.clusterIP !== 'None';
}

function allocatedIPs(spec: Record<string, unknown>): string[] {
  return typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && spec.clusterIP !== 'None' ? [spec.clusterIP] : [];
}

function allocatedPorts(spec: Record<string, unknown>): number[] {
  return needsNodePorts(spec) ? portsOf(spec).flatMap((p) => (typeof p.nodePort === 'number' ? [p.nodePort] : [])) : [];
}

/** The allocators and the hooks that use them. */
export class ServiceAllocations {
  readonly ips: CidrAllocator;
  readonly ports: PortAllocator;

  constructor(serviceCidr: string, nodePortRange: string) {
    this.ips = new CidrAllocator(serviceCidr);
    this.ports = new PortAllocator(nodePortRange);
  }

  /** Marks what stored Services already hold (at startup). */
  restore(services: KubeObject[]): void {
    this.ips.restore(services.flatMap((s) => allocatedIPs(specOf(s))));
    this.ports.restore(services.flatMap((s) => allocatedPorts(specOf(s))));
  }

  /** Allocates what `spec` asks for beyond `held`; returns what it took. */
  private take(o: KubeObject, held: { ips: string[]; ports: number[] }): { ips: string[]; ports: number[] } {
    const spec = specOf(o);
    const name = o.metadata.name ?? '';
    const taken = { ips: [] as string[], ports: [] as number[] };
    const causes: StatusCause[] = [];
    try {
      if (needsClusterIP(spec)) {
        const ip = typeof spec.clusterIP === 'string' && spec.clusterIP !== '' ? spec.clusterIP : undefined;
        if (ip === undefined) {
          const fresh = this.ips.allocateNext();
          taken.ips.push(fresh);
          spec.clusterIP = fresh;
        } else if (!held.ips.includes(ip)) {
          try {
            this.ips.allocate(ip);
            taken.ips.push(ip);
          } catch (e) {
            if (!(e instanceof AllocatorError)) throw e;
            causes.push({ reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: ["${ip}"]: ${e.message}` });
          }
        }
        spec.clusterIPs = [spec.clusterIP as string];
      } else if (spec.clusterIP === 'None') {
        spec.clusterIPs = ['None'];
      }
      if (needsNodePorts(spec)) {
        portsOf(spec).forEach((p, i) => {
          if (typeof p.nodePort !== 'number' || p.nodePort === 0) {
            const fresh = this.ports.allocateNext();
            taken.ports.push(fresh);
            p.nodePort = fresh;
          } else if (!held.ports.includes(p.nodePort) || taken.ports.includes(p.nodePort)) {
            try {
              this.ports.allocate(p.nodePort);
              taken.ports.push(p.nodePort);
            } catch (e) {
              if (!(e instanceof AllocatorError)) throw e;
              causes.push({ reason: 'FieldValueInvalid', field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${p.nodePort}: ${e.message}` });
            }
          }
        });
      }
    } catch (e) {
      this.give(taken);
      if (e instanceof AllocatorError) throw errors.invalid(SERVICES, name, [{ reason: 'FieldValueInvalid', field: 'spec', message: e.message }]);
      throw e;
    }
    if (causes.length > 0) {
      this.give(taken);
      throw errors.invalid(SERVICES, name, causes);
    }
    return taken;
  }

  private give(held: { ips: string[]; ports: number[] }): void {
    for (const ip of held.ips) this.ips.release(ip);
    for (const port of held.ports) this.ports.release(port);
  }

  /** Write hooks for the Service kind. */
  hooks(): KindHooks {
    return {
      beforeCreate: (obj): WriteEffects => {
        const taken = this.take(obj, { ips: [], ports: [] });
        return { commit: () => {}, rollback: () => this.give(taken) };
      },
      prepareUpdate: (next, old) => carryAllocatedValues(next, old),
      beforeUpdate: (next, old): WriteEffects => {
        const oldSpec = specOf(old);
        const held = { ips: allocatedIPs(oldSpec), ports: allocatedPorts(oldSpec) };
        const taken = this.take(next, held);
        const nextSpec = specOf(next);
        const keptIPs = new Set(allocatedIPs(nextSpec));
        const keptPorts = new Set(allocatedPorts(nextSpec));
        const freed = { ips: held.ips.filter((ip) => !keptIPs.has(ip)), ports: held.ports.filter((p) => !keptPorts.has(p)) };
        return { commit: () => this.give(freed), rollback: () => this.give(taken) };
      },
      afterDelete: (old) => {
        const spec = specOf(old);
        this.give({ ips: allocatedIPs(spec), ports: allocatedPorts(spec) });
      },
    };
  }
}

/**
 * An update that leaves allocated values out keeps them (Kubernetes'
 * patchAllocatedValues); NodePorts go when the new type has none.
 */
export function carryAllocatedValues(next: KubeObject, old: KubeObject): void {
  const spec = specOf(next);
  const oldSpec = specOf(old);
  if ((spec.clusterIP === undefined || spec.clusterIP === '') && needsClusterIP(spec) && typeof oldSpec.clusterIP === 'string') {
    spec.clusterIP = oldSpec.clusterIP;
    if (Array.isArray(oldSpec.clusterIPs)) spec.clusterIPs = [...oldSpec.clusterIPs];
  }
  const ports = portsOf(spec);
  if (!needsNodePorts(spec)) {
    for (const p of ports) delete p.nodePort;
    return;
  }
  const oldPorts = portsOf(oldSpec);
  for (const p of ports) {
    if (typeof p.nodePort === 'number' && p.nodePort !== 0) continue;
    const match = oldPorts.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
    if (match && typeof match.nodePort === 'number') p.nodePort = match.nodePort;
  }
}
