// The server's data directory: where it lives by default, its layout, and
// making sure it exists and is writable before anything else starts, so a
// bad --data-dir fails with one clear sentence instead of a SQLite error.

import { randomBytes } from 'node:crypto';
import { mkdir, chmod, writeFile, unlink, rename } from 'node:fs/promises';
import { join } from 'node:path';

/** The data dir cannot be created or written; `code` is the errno code (EACCES, ENOTDIR, EROFS, ...). */
export class DataDirError extends Error {
  constructor(
    readonly dir: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DataDirError';
  }
}

/** Paths of everything the server keeps under its data dir. */
export interface ServerPaths {
  root: string;
  server: string;
  db: string;
  dbPath: string;
  tls: string;
  cred: string;
  token: string;
  nodeToken: string;
  adminToken: string;
}

/** Default data dir: /var/lib/orch as root, ~/.orch otherwise. */
export function defaultDataDir(opts: { isRoot: boolean; home: string }): string {
  return opts.isRoot ? '/var/lib/orch' : join(opts.home, '.orch');
}

/** The layout under a data dir (pure; creates nothing). */
export function serverPaths(dataDir: string): ServerPaths {
  const server = join(dataDir, 'server');
  const db = join(server, 'db');
  const cred = join(server, 'cred');
  return {
    root: dataDir,
    server,
    db,
    dbPath: join(db, 'state.db'),
    tls: join(server, 'tls'),
    cred,
    token: join(server, 'token'),
    nodeToken: join(server, 'node-token'),
    adminToken: join(cred, 'admin.token'),
  };
}

/** The SQLite database file under a data dir. */
export function dbPath(dataDir: string): string {
  return serverPaths(dataDir).dbPath;
}

function errnoCode(err: unknown): string {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return 'EUNKNOWN';
}

/** Creates <dir>/server/{db,tls,cred} (secrets 0700) and proves the dir writable; throws DataDirError. */
export async function prepareDataDir(dir: string): Promise<ServerPaths> {
  const p = serverPaths(dir);
  try {
    await mkdir(p.root, { recursive: true, mode: 0o755 });
    await mkdir(p.server, { recursive: true, mode: 0o700 });
    // Keys, tokens and the database are secrets: keep the subtree private even
    // if an older version or a user created it with looser modes.
    for (const d of [p.server, p.db, p.tls, p.cred]) {
      await mkdir(d, { recursive: true, mode: 0o700 });
      await chmod(d, 0o700);
    }
  } catch (err) {
    const code = errnoCode(err);
    const verb = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'is not writable' : 'cannot be created';
    throw new DataDirError(dir, code, `data dir ${dir} ${verb}: ${code}`);
  }
  // mkdir succeeds on existing dirs; only a real write proves we can store state
  // (read-only mounts, root-squashed NFS, a full disk).
  const probe = join(p.server, `.write-probe-${process.pid}`);
  try {
    await writeFile(probe, '');
    await unlink(probe);
  } catch (err) {
    const code = errnoCode(err);
    throw new DataDirError(dir, code, `data dir ${dir} is not writable: ${code}`);
  }
  return p;
}

/** Writes a file atomically (temp file + rename) with an exact mode, whatever the umask. */
export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, data, { mode });
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
