/**
 * Objects a cluster has from its first start: the default namespaces and
 * the `kubernetes` Service with Endpoints pointing at this API server.
 * Idempotent: a restart creates what is missing and refreshes the endpoints.
 */
import { findResource } from '../api/registry.js';
import { jsonEqual, type KubeObject } from '../api/object.js';
import { ApiError } from '../apiserver/errors.js';
import type { ApiServer } from '../apiserver/app.js';
import { nthAddress } from '../apiserver/allocators.js';
import type { WriteOptions } from '../apiserver/rest/rest.js';
import { NODE_LOCAL_LABEL } from '../proxy/rules.js';

const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const SYSTEM_WRITE: WriteOptions = { dryRun: false, fieldValidation: 'Strict', fieldManager: 'orch-apiserver' };

function must<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`registry is missing ${what}`);
  return v;
}

async function createIfMissing(api: ApiServer, plural: string, namespace: string | undefined, obj: KubeObject): Promise<void> {
  const r = must(findResource('', 'v1', plural), plural);
  // Look first: creating an existing Service would trip over its own address before AlreadyExists.
  if (await api.store.get(r, namespace, obj.metadata.name ?? '')) return;
  try {
    await api.rest.create(r, namespace, obj, SYSTEM_WRITE);
  } catch (e) {
    if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
  }
}

/**
 * The kube-dns Service, which pods find the cluster DNS by (kubectl, client
 * libraries and people look for it). Every agent answers its address on a
 * local interface of its node (pkg/dns), so it has no selector and no
 * endpoints, and the node-local label keeps the Service proxy off it.
 */
function kubeDnsService(clusterIP: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kube-dns',
      namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'KubeDNS', [NODE_LOCAL_LABEL]: 'true' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
      ],
      sessionAffinity: 'None',
    },
  };
}

export interface BootstrapOptions {
  advertiseAddress: string;
  port: number;
  serviceCidr: string;
  /** The kube-dns Service's ClusterIP (--cluster-dns); absent: no kube-dns Service. */
  clusterDns?: string;
}

/** Restores allocations from stored Services, then creates the built-in objects. */
export async function bootstrapObjects(api: ApiServer, o: BootstrapOptions): Promise<void> {
  const services = must(findResource('', 'v1', 'services'), 'services');
  const stored = await api.rest.list(services, undefined, {});
  api.services.restore(stored.items);

  for (const name of DEFAULT_NAMESPACES) {
    await createIfMissing(api, 'namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  await createIfMissing(api, 'services', 'default', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: nthAddress(o.serviceCidr, 1),
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: o.port }],
      sessionAffinity: 'None',
    },
  });
  if (o.clusterDns) await createIfMissing(api, 'services', 'kube-system', kubeDnsService(o.clusterDns));
  const endpoints = must(findResource('', 'v1', 'endpoints'), 'endpoints');
  const subsets = [{ addresses: [{ ip: o.advertiseAddress }], ports: [{ name: 'https', port: o.port, protocol: 'TCP' }] }];
  // A restart on the same address changes nothing: skip the write (and the validators it would load).
  const current = await api.store.get(endpoints, 'default', 'kubernetes');
  if (current && jsonEqual(current.subsets, subsets)) return;
  // PUT creates Endpoints when missing, and keeps them current when the address or port changed.
  await api.rest.update(
    endpoints,
    'default',
    'kubernetes',
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } }, subsets },
    SYSTEM_WRITE,
  );
}
