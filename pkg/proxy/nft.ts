/**
 * Runs an nft script as one transaction (`nft -f -`): the kernel applies all
 * of it or none of it.
 */
import { spawn } from 'node:child_process';

export type NftRunner = (script: string) => Promise<void>;

/** A failed `nft -f`, with what nft printed. */
export class NftError extends Error {
  constructor(
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`nft -f failed (${code ?? 'signal'}): ${stderr.slice(0, 2000)}`);
    this.name = 'NftError';
  }
}

export interface NftRunnerOptions {
  /** Run inside this network namespace (a path such as /var/run/netns/NAME), through nsenter. */
  netns?: string;
  /** `nft -c`: check the script against the kernel without applying it. */
  check?: boolean;
  /** Default 'nft'. */
  nftPath?: string;
}

/** A runner that feeds the script to `nft -f -` on stdin. */
export function nftRunner(opts: NftRunnerOptions = {}): NftRunner {
  const nft = opts.nftPath ?? 'nft';
  const nftArgs = [...(opts.check ? ['-c'] : []), '-f', '-'];
  const [cmd, args] = opts.netns ? ['nsenter', [`--net=${opts.netns}`, nft, ...nftArgs]] : [nft, nftArgs];
  return (script) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => {
        if (stderr.length < 64_000) stderr += d;
      });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new NftError(code, stderr))));
      // A closed stdin (nft died early) is reported by 'close' with its stderr.
      child.stdin.on('error', () => undefined);
      child.stdin.end(script);
    });
}
