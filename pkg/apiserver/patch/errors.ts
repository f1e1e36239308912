/**
 * Typed patch errors. Each maps to one Kubernetes Status at the server:
 * PatchError → its `code` (400 BadRequest for a malformed patch document,
 * 415 for a patch type the kind does not support, 422 Invalid when a
 * well-formed patch cannot be applied); ApplyConflictError → 409 Conflict.
 */

export type PatchErrorCode = 400 | 415 | 422;

/** A patch that is malformed or cannot be applied to the current object. */
export class PatchError extends Error {
  override readonly name = 'PatchError';
  constructor(
    message: string,
    /** HTTP status the server should answer with. */
    readonly code: PatchErrorCode = 422,
  ) {
    super(message);
  }
}

/** One field an apply would change that another manager owns. */
export interface ApplyConflict {
  /** The manager that owns the field (managedFields[].manager). */
  manager: string;
  /** The operation of that manager's entry, 'Apply' or 'Update'. */
  operation: string;
  /** apiVersion of that manager's entry. */
  apiVersion: string;
  /** Field path as Kubernetes prints it, e.g. `.spec.replicas` or `.spec.template.spec.containers[name="c"].image`. */
  field: string;
}

/** Server-side apply would overwrite fields owned by other managers (409 unless force). */
export class ApplyConflictError extends Error {
  override readonly name = 'ApplyConflictError';
  readonly code = 409;
  constructor(readonly conflicts: readonly ApplyConflict[]) {
    super(conflictMessage(conflicts));
  }

  /** `details.causes` of the Conflict Status, as kube-apiserver sends them. */
  causes(): { type: 'FieldManagerConflict'; message: string; field: string }[] {
    return this.conflicts.map((c) => ({
      type: 'FieldManagerConflict',
      message: `conflict with "${c.manager}"${c.operation === 'Update' ? ` using ${c.apiVersion}` : ''}`,
      field: c.field,
    }));
  }
}

/** Mirrors the message of kube-apiserver, e.g. `Apply failed with 1 conflict: conflict with "m" using apps/v1: .spec.replicas`. */
function conflictMessage(conflicts: readonly ApplyConflict[]): string {
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) {
    const who = `"${c.manager}"${c.operation === 'Update' ? ` using ${c.apiVersion}` : ''}`;
    byManager.set(who, [...(byManager.get(who) ?? []), c.field]);
  }
  const n = conflicts.length;
  const parts = [...byManager].map(([who, fields]) =>
    fields.length === 1 ? `conflict with ${who}: ${fields[0]}` : `conflicts with ${who}:\n${fields.map((f) => `- ${f}`).join('\n')}`,
  );
  return `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${parts.join('\n')}`;
}
