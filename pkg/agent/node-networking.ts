/**
 * What networks a node besides the kubelet: the pod network (host-gw), the
 * Service proxy and the cluster DNS server, started from one
 * NodeNetworkConfig over informers the agent opens for them (the proxy and
 * the DNS server share the Service and Endpoints caches; managedFields are
 * dropped, as the server's informers do: nothing here reads them). Loaded by the
 * kubelet wiring only: it pulls in Docker and kernel code.
 */
import type { Endpoints, Node, Service } from 'kubernetes-types/core/v1.js';
import { Informer, stripManagedFields } from '../client/informer.js';
import { startDnsServer, type DnsServer } from '../dns/server.js';
import { ensureDnsAddress, removeDnsAddress } from '../dns/iface.js';
import { upstreamsFromResolvConf } from '../dns/resolv.js';
import { dockerNetworkApi, listPodNetworks } from '../network/docker-network.js';
import { execRun } from '../network/kernel.js';
import { removePodNetwork, startPodNetwork, type PodNetwork } from '../network/network.js';
import { cleanupProxyRules, startProxy, type Proxy } from '../proxy/proxy.js';
import type { KubeletDeps } from './agent.js';
import type { NodeNetworkConfig } from './network-config.js';

/** The running networking of a node. */
export interface NodeNetworking {
  /** The pod network (absent with --flannel-backend=none). */
  podNetwork?: PodNetwork;
  /** What the kubelet writes as the pods' nameserver (empty without cluster DNS). */
  clusterDNS: string[];
  /**
   * Stops following the API. Routes, rules, the Docker network and the DNS
   * address stay: pods keep their network and Services keep answering
   * while the agent restarts. cleanupNodeNetworking() removes them.
   */
  stop(): Promise<void>;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Stops what was started, newest first, reporting (not throwing) failures so every part gets its turn. */
async function stopAll(parts: (() => Promise<void>)[], log: (m: string) => void): Promise<void> {
  for (const stop of [...parts].reverse()) await stop().catch((e: unknown) => log(`node networking: stop: ${message(e)}`));
}

/** Starts the node's pod network, Service proxy and DNS server as `cfg` asks; on failure, stops what it started. */
export async function startNodeNetworking(deps: KubeletDeps, cfg: NodeNetworkConfig): Promise<NodeNetworking> {
  const log = deps.log;
  const onError = (what: string) => (e: unknown) => log(`${what}: ${message(e)}`);
  const started: (() => Promise<void>)[] = [];
  try {
    let podNetwork: PodNetwork | undefined;
    if (cfg.podNetwork === 'host-gw') {
      const nodes = new Informer<Node>(deps.client.resource('nodes'), { onError: onError('pod network: node informer'), transform: stripManagedFields });
      nodes.start();
      started.push(() => nodes.stop());
      const net = await startPodNetwork({ nodeName: deps.nodeName, nodes, docker: dockerNetworkApi(deps.runtimeEndpoint), clusterCidr: cfg.clusterCidr, log });
      started.push(() => net.stop());
      podNetwork = net;
    }
    if (!cfg.serviceProxy && !cfg.clusterDns) return { podNetwork, clusterDNS: [], stop: () => stopAll(started, log) };

    const services = new Informer<Service>(deps.client.resource('services'), { onError: onError('services informer'), transform: stripManagedFields });
    const endpoints = new Informer<Endpoints>(deps.client.resource('endpoints'), { onError: onError('endpoints informer'), transform: stripManagedFields });
    services.start();
    endpoints.start();
    started.push(async () => {
      await services.stop();
      await endpoints.stop();
    });
    if (cfg.serviceProxy) {
      const proxy: Proxy = await startProxy({ services, endpoints, clusterCIDR: cfg.clusterCidr, log: (m) => log(`proxy: ${m}`) });
      // An agent restart keeps Services answering; an uninstall removes the table.
      started.push(() => proxy.stop({ keepRules: true }));
    }
    let clusterDNS: string[] = [];
    if (cfg.clusterDns) {
      const { address, domain } = cfg.clusterDns;
      // Pods reach the server on the cluster DNS address itself, held by a local interface: no DNAT, no proxy needed.
      await ensureDnsAddress(address);
      const upstreams = await upstreamsFromResolvConf(cfg.resolvConf, [{ address, port: 53 }]);
      // The server logs what it serves and where it forwards, prefixed "dns: ".
      const dns: DnsServer = await startDnsServer({ listen: [{ address, port: 53 }], services, endpoints, clusterDomain: domain, upstreams, log });
      started.push(() => dns.stop());
      clusterDNS = [address];
    }
    return { podNetwork, clusterDNS, stop: () => stopAll(started, log) };
  } catch (e) {
    await stopAll(started, log);
    throw e;
  }
}

/** Options of cleanupNodeNetworking. */
export interface CleanupOptions {
  runtimeEndpoint?: string;
  clusterDns?: string;
  log?: (msg: string) => void;
}

/**
 * Removes everything the node's networking put in the kernel and in Docker:
 * the proxy's nftables table, the pod network's routes, chains and Docker
 * networks (their containers disconnected), the DNS address and interface.
 * Run with the agent stopped (`orch cleanup`); idempotent.
 */
export async function cleanupNodeNetworking(o: CleanupOptions = {}): Promise<void> {
  const log = o.log ?? (() => {});
  await cleanupProxyRules();
  log('removed the Service proxy table (nftables ip orch-proxy)');
  const networks = await listPodNetworks(o.runtimeEndpoint);
  await removePodNetwork(execRun, dockerNetworkApi(o.runtimeEndpoint), networks);
  log(`removed the pod network routes, iptables chains and Docker networks${networks.length > 0 ? ` ${networks.join(', ')}` : ''}`);
  if (o.clusterDns) {
    await removeDnsAddress(o.clusterDns);
    log(`removed the cluster DNS address ${o.clusterDns}`);
  }
}
