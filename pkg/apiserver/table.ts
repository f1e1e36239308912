/**
 * Server-side printing for `kubectl get`: the column definitions and row
 * cells of a meta.k8s.io/v1 Table, per kind, matching the Kubernetes API
 * server's printers. Cells always include the wide (priority 1) columns,
 * as the real server does; kubectl shows them only with `-o wide`.
 */
import { podCells } from './table/pods.js';
import {
  configMapCells, createdAtCells, daemonSetCells, deploymentCells, endpointsCells, eventCells, leaseCells, nameAgeCells,
  namespaceCells, nodeCells, replicaSetCells, roleBindingCells, secretCells, serviceAccountCells, serviceCells,
  type Cell,
} from './table/printers.js';
import { rec } from './table/guards.js';

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

type Printer = (obj: Record<string, unknown>, now: Date) => Cell[];

interface KindTable {
  columns: ColumnDefinition[];
  cells: Printer;
}

// Descriptions are the first sentence of the swagger docs the real server sends.
const D_NAME = 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const D_AGE = 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.';
const D_CONTAINERS = 'Names of each container in the template.';
const D_IMAGES = 'Images referenced by each container in the template.';
const D_SELECTOR = 'A label query over pods that should match the replica count. It must match the pod template\'s labels.';

/** A column; `format` and `priority` default to '' and 0. */
function col(name: string, type: string, description: string, opts: { format?: string; priority?: number } = {}): ColumnDefinition {
  return { name, type, format: opts.format ?? '', description, priority: opts.priority ?? 0 };
}

const NAME = col('Name', 'string', D_NAME, { format: 'name' });
const AGE = col('Age', 'string', D_AGE);
const wide = (name: string, type: string, description: string): ColumnDefinition => col(name, type, description, { priority: 1 });
const TEMPLATE_WIDE = [wide('Containers', 'string', D_CONTAINERS), wide('Images', 'string', D_IMAGES), wide('Selector', 'string', D_SELECTOR)];

const ROLE_BINDING: KindTable = {
  columns: [
    NAME,
    col('Role', 'string', 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.'),
    AGE,
    wide('Users', 'string', 'Users in the roleBinding'),
    wide('Groups', 'string', 'Groups in the roleBinding'),
    wide('ServiceAccounts', 'string', 'ServiceAccounts in the roleBinding'),
  ],
  cells: roleBindingCells,
};

const CREATED_AT: KindTable = {
  columns: [NAME, col('Created At', 'date', D_AGE)],
  cells: (obj) => createdAtCells(obj),
};

const TABLES: Readonly<Record<string, KindTable>> = {
  pods: {
    columns: [
      NAME,
      col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'string', 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
      AGE,
      wide('IP', 'string', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.'),
      wide('Node', 'string', 'NodeName indicates in which node this pod is scheduled.'),
      wide('Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.'),
      wide('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.'),
    ],
    cells: (obj, now) => podCells(obj, now),
  },
  nodes: {
    columns: [
      NAME,
      col('Status', 'string', 'The status of the node'),
      col('Roles', 'string', 'The roles of the node'),
      AGE,
      col('Version', 'string', 'Kubelet Version reported by the node.'),
      wide('Internal-IP', 'string', 'List of addresses reachable to the node.'),
      wide('External-IP', 'string', 'List of addresses reachable to the node.'),
      wide('OS-Image', 'string', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).'),
      wide('Kernel-Version', 'string', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
      wide('Container-Runtime', 'string', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).'),
    ],
    cells: nodeCells,
  },
  'deployments.apps': {
    columns: [
      NAME,
      col('Ready', 'string', 'Number of the pod with ready state'),
      col('Up-to-date', 'string', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
      col('Available', 'string', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
      AGE,
      ...TEMPLATE_WIDE,
    ],
    cells: deploymentCells,
  },
  'replicasets.apps': {
    columns: [
      NAME,
      col('Desired', 'integer', 'Replicas is the number of desired replicas.'),
      col('Current', 'integer', 'Replicas is the most recently observed number of replicas.'),
      col('Ready', 'integer', 'readyReplicas is the number of pods targeted by this ReplicaSet with a Ready Condition.'),
      AGE,
      ...TEMPLATE_WIDE,
    ],
    cells: replicaSetCells,
  },
  'daemonsets.apps': {
    columns: [
      NAME,
      col('Desired', 'integer', 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).'),
      col('Current', 'integer', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.'),
      col('Ready', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.'),
      col('Up-to-date', 'integer', 'The total number of nodes that are running updated daemon pod'),
      col('Available', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)'),
      col('Node Selector', 'string', "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node."),
      AGE,
      ...TEMPLATE_WIDE,
    ],
    cells: daemonSetCells,
  },
  services: {
    columns: [
      NAME,
      col('Type', 'string', 'type determines how the Service is exposed.'),
      col('Cluster-IP', 'string', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
      col('External-IP', 'string', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
      col('Port(s)', 'string', 'The list of ports that are exposed by this service.'),
      AGE,
      wide('Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.'),
    ],
    cells: serviceCells,
  },
  endpoints: {
    columns: [NAME, col('Endpoints', 'string', 'The set of all endpoints is the union of all subsets.'), AGE],
    cells: endpointsCells,
  },
  configmaps: {
    columns: [NAME, col('Data', 'string', 'Data contains the configuration data.'), AGE],
    cells: configMapCells,
  },
  secrets: {
    columns: [
      NAME,
      col('Type', 'string', 'Used to facilitate programmatic handling of secret data.'),
      col('Data', 'string', 'Data contains the secret data.'),
      AGE,
    ],
    cells: secretCells,
  },
  serviceaccounts: {
    columns: [NAME, col('Secrets', 'string', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), AGE],
    cells: serviceAccountCells,
  },
  // The one kind whose Name column is not first: `kubectl get events` leads with LAST SEEN.
  events: {
    columns: [
      col('Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'),
      col('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future'),
      col('Reason', 'string', "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
      col('Object', 'string', 'The object that this event is about.'),
      wide('Subobject', 'string', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].'),
      wide('Source', 'string', 'The component reporting this event. Should be a short machine understandable string.'),
      col('Message', 'string', 'A human-readable description of the status of this operation.'),
      wide('First Seen', 'string', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)'),
      wide('Count', 'string', 'The number of times this event has occurred.'),
      col('Name', 'string', D_NAME, { format: 'name', priority: 1 }),
    ],
    cells: eventCells,
  },
  namespaces: {
    columns: [NAME, col('Status', 'string', 'The status of the namespace'), AGE],
    cells: namespaceCells,
  },
  'leases.coordination.k8s.io': {
    columns: [NAME, col('Holder', 'string', 'holderIdentity contains the identity of the holder of a current lease.'), AGE],
    cells: leaseCells,
  },
  'roles.rbac.authorization.k8s.io': CREATED_AT,
  'clusterroles.rbac.authorization.k8s.io': CREATED_AT,
  'rolebindings.rbac.authorization.k8s.io': ROLE_BINDING,
  'clusterrolebindings.rbac.authorization.k8s.io': ROLE_BINDING,
};

const DEFAULT_TABLE: KindTable = { columns: [NAME, AGE], cells: nameAgeCells };

function tableFor(groupResource: string): KindTable {
  return Object.prototype.hasOwnProperty.call(TABLES, groupResource) ? TABLES[groupResource] : DEFAULT_TABLE;
}

/** The Table columns for a kind ('pods', 'deployments.apps', ...); NAME AGE for kinds without a printer. */
export function columnDefinitions(groupResource: string): ColumnDefinition[] {
  return tableFor(groupResource).columns.map((c) => ({ ...c }));
}

/** One object's row cells, in column order, ages measured at `now`. Never throws on malformed objects. */
export function rowCells(groupResource: string, obj: object, now: Date): (string | number | boolean | null)[] {
  return tableFor(groupResource).cells(rec(obj), now);
}
