/**
 * The few Docker network calls the pod network makes, behind a small
 * interface so dockerode types stay in this file and tests can fake them.
 */
import Docker from 'dockerode';
import { NETWORK_LABEL, type NetworkSpec, type ObservedNetwork } from './plan.js';

/** Docker networks, as the pod network needs them. */
export interface NetworkApi {
  /** The network by name, or undefined when there is none. */
  inspect(name: string): Promise<ObservedNetwork | undefined>;
  create(spec: NetworkSpec): Promise<void>;
  /** Disconnects a container (forcibly: its endpoint goes even if the container is gone). */
  disconnect(name: string, containerId: string): Promise<void>;
  /** Removes the network; a missing one is not an error. */
  remove(name: string): Promise<void>;
}

function statusOf(err: unknown): number | undefined {
  return err instanceof Error && 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : undefined;
}

function record(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** dockerode connection options from a DOCKER_HOST-style endpoint (unix:///path or tcp://host:port). */
function connection(endpoint: string | undefined): Docker.DockerOptions {
  if (!endpoint) return { socketPath: '/var/run/docker.sock', host: undefined };
  if (endpoint.startsWith('unix://')) return { socketPath: endpoint.slice('unix://'.length), host: undefined };
  const u = new URL(endpoint.includes('://') ? endpoint : `tcp://${endpoint}`);
  if (u.protocol !== 'tcp:' && u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`unsupported Docker endpoint '${endpoint}'`);
  return { host: u.hostname, port: u.port || '2375', protocol: u.protocol === 'https:' ? 'https' : 'http' };
}

/** The NetworkApi of the Docker daemon at `endpoint` (default the local socket). */
export function dockerNetworkApi(endpoint?: string): NetworkApi {
  const docker = new Docker(connection(endpoint));
  return {
    async inspect(name) {
      let info: Docker.NetworkInspectInfo;
      try {
        info = await docker.getNetwork(name).inspect();
      } catch (e) {
        if (statusOf(e) === 404) return undefined;
        throw e;
      }
      // Docker matches a name prefix of an id too: only an exact name is ours.
      if (info.Name !== name) return undefined;
      const ipam = info.IPAM?.Config?.[0];
      return {
        id: info.Id,
        ...(ipam?.Subnet ? { subnet: ipam.Subnet } : {}),
        ...(ipam?.Gateway ? { gateway: ipam.Gateway } : {}),
        options: record(info.Options),
        labels: record(info.Labels),
        containers: Object.keys(info.Containers ?? {}),
      };
    },
    async create(spec) {
      await docker.createNetwork({
        Name: spec.name,
        Driver: 'bridge',
        CheckDuplicate: true,
        IPAM: { Driver: 'default', Config: [{ Subnet: spec.subnet, Gateway: spec.gateway }] },
        Options: spec.options,
        Labels: spec.labels,
      });
    },
    async disconnect(name, containerId) {
      try {
        await docker.getNetwork(name).disconnect({ Container: containerId, Force: true });
      } catch (e) {
        if (statusOf(e) !== 404) throw e;
      }
    },
    async remove(name) {
      try {
        await docker.getNetwork(name).remove();
      } catch (e) {
        if (statusOf(e) !== 404) throw e;
      }
    },
  };
}

/** Names of the Docker networks the pod network created (labelled NETWORK_LABEL), for cleanup. */
export async function listPodNetworks(endpoint?: string): Promise<string[]> {
  const docker = new Docker(connection(endpoint));
  const nets = await docker.listNetworks({ filters: { label: [NETWORK_LABEL] } });
  return nets.map((n) => n.Name);
}
