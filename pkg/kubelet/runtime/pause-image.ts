/**
 * The pause image, built without a registry.
 *
 * A pod's sandbox container only has to exist and hold the network and IPC
 * namespaces, so its image is one tiny static ELF executable, `/pause`, that
 * sleeps forever and exits at once on SIGTERM or SIGINT (as Kubernetes' pause
 * does, so stopping a sandbox does not wait out a grace period: as PID 1 of
 * its PID namespace it would otherwise ignore SIGTERM). The bytes are
 * assembled here, per architecture, with the assembly beside them; the
 * runtime imports the tar below as `orch/pause:3.10` (Docker's
 * `POST /images/create?fromSrc=-` with `CMD ["/pause"]`). That keeps agents
 * air-gapped: no pull, no busybox on the host.
 *
 * Layout of the file (both arches): the 64-byte ELF header, one 56-byte
 * program header (PT_LOAD, R+X, the whole file at 0x400000), then the code at
 * file offset 0x78, then an 8-aligned kernel `struct sigaction` the code
 * points at: { sa_handler = handler, sa_flags, sa_restorer, sa_mask = 0 }.
 */

import tar from 'tar-stream';

/** Ref of the pause image the runtime builds. */
export const PAUSE_IMAGE = 'orch/pause:3.10';
/** The container command of the pause image. */
export const PAUSE_CMD = ['/pause'];

const BASE = 0x400000;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const CODE_OFFSET = EHDR_SIZE + PHDR_SIZE; // 0x78
const SA_RESTORER = 0x04000000;

/** A supported CPU architecture, as Node names it. */
export type PauseArch = 'x64' | 'arm64';

interface Program {
  machine: number;
  align: number;
  code: Buffer;
}

/**
 * x86_64 (Linux syscall numbers: rt_sigaction 13, pause 34, exit_group 231).
 *
 *   off  bytes                   asm
 *   0    b8 0d 00 00 00          mov  eax, 13          ; rt_sigaction(
 *   5    bf 0f 00 00 00          mov  edi, 15          ;   SIGTERM,
 *   10   48 8d 35 2f 00 00 00    lea  rsi, [rip+47]    ;   &act (off 64),
 *   17   31 d2                   xor  edx, edx         ;   NULL,
 *   19   41 ba 08 00 00 00       mov  r10d, 8          ;   sizeof(sigset_t))
 *   25   0f 05                   syscall
 *   27   b8 0d 00 00 00          mov  eax, 13          ; rt_sigaction(SIGINT, …): syscall
 *   32   bf 02 00 00 00          mov  edi, 2           ; keeps rsi, rdx, r10 (it clobbers
 *   37   0f 05                   syscall               ; only rax, rcx, r11)
 *   39   b8 22 00 00 00    loop: mov  eax, 34          ; pause()
 *   44   0f 05                   syscall
 *   46   eb f7                   jmp  loop             ; 48 - 9 = 39
 *   48   b8 e7 00 00 00 handler: mov  eax, 231         ; exit_group(
 *   53   31 ff                   xor  edi, edi         ;   0)
 *   55   0f 05                   syscall
 *   57   90 × 7                  (pad to 8)
 *   64   act: handler, SA_RESTORER, handler, 0
 *
 * SA_RESTORER with the handler as restorer: older x86_64 kernels refuse to
 * deliver a signal without one; the handler never returns, so it is never used.
 */
function x64(): Program {
  const handler = BASE + CODE_OFFSET + 48;
  const text = Buffer.from([
    0xb8, 0x0d, 0x00, 0x00, 0x00,
    0xbf, 0x0f, 0x00, 0x00, 0x00,
    0x48, 0x8d, 0x35, 0x2f, 0x00, 0x00, 0x00,
    0x31, 0xd2,
    0x41, 0xba, 0x08, 0x00, 0x00, 0x00,
    0x0f, 0x05,
    0xb8, 0x0d, 0x00, 0x00, 0x00,
    0xbf, 0x02, 0x00, 0x00, 0x00,
    0x0f, 0x05,
    0xb8, 0x22, 0x00, 0x00, 0x00,
    0x0f, 0x05,
    0xeb, 0xf7,
    0xb8, 0xe7, 0x00, 0x00, 0x00,
    0x31, 0xff,
    0x0f, 0x05,
    0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
  ]);
  return { machine: 62 /* EM_X86_64 */, align: 0x1000, code: Buffer.concat([text, sigaction(handler, SA_RESTORER, handler)]) };
}

/** AArch64 `movz xd, #imm16`. */
const movz = (rd: number, imm: number): number => (0xd2800000 | (imm << 5) | rd) >>> 0;
/** AArch64 `adr xd, .+off`. */
const adr = (rd: number, off: number): number => (0x10000000 | ((off & 3) << 29) | (((off >> 2) & 0x7ffff) << 5) | rd) >>> 0;
/** AArch64 `b .+off`. */
const b = (off: number): number => (0x14000000 | ((off >> 2) & 0x3ffffff)) >>> 0;
const SVC0 = 0xd4000001;
const NOP = 0xd503201f;

/**
 * AArch64 (generic syscall numbers: rt_sigaction 134, ppoll 73, exit_group 94;
 * there is no pause syscall, ppoll with no fds and no timeout blocks forever).
 *
 *   off  asm
 *   0    mov  x8, #134         ; rt_sigaction(
 *   4    mov  x0, #15          ;   SIGTERM,
 *   8    adr  x1, act          ;   &act (off 80),
 *   12   mov  x2, #0           ;   NULL,
 *   16   mov  x3, #8           ;   sizeof(sigset_t))
 *   20   svc  #0
 *   24   mov  x8, #134         ; rt_sigaction(SIGINT, …): svc keeps x1..x3
 *   28   mov  x0, #2
 *   32   svc  #0
 *   36   loop: mov x8, #73     ; ppoll(NULL, 0, NULL, NULL)
 *   40   mov  x0, #0
 *   44   mov  x1, #0
 *   48   mov  x2, #0
 *   52   mov  x3, #0
 *   56   svc  #0
 *   60   b    loop             ; -24
 *   64   handler: mov x8, #94  ; exit_group(0)
 *   68   mov  x0, #0
 *   72   svc  #0
 *   76   nop                   ; (pad to 8)
 *   80   act: handler, 0, 0, 0 ; flags 0: the kernel returns through the vDSO (never reached)
 */
function arm64(): Program {
  const handler = BASE + CODE_OFFSET + 64;
  const words = [
    movz(8, 134), movz(0, 15), adr(1, 80 - 8), movz(2, 0), movz(3, 8), SVC0,
    movz(8, 134), movz(0, 2), SVC0,
    movz(8, 73), movz(0, 0), movz(1, 0), movz(2, 0), movz(3, 0), SVC0, b(36 - 60),
    movz(8, 94), movz(0, 0), SVC0, NOP,
  ];
  const text = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => text.writeUInt32LE(w, i * 4));
  return { machine: 183 /* EM_AARCH64 */, align: 0x10000, code: Buffer.concat([text, sigaction(handler, 0, 0)]) };
}

/** A kernel struct sigaction: handler, flags, restorer, mask (zero: block nothing). */
function sigaction(handler: number, flags: number, restorer: number): Buffer {
  const act = Buffer.alloc(32);
  act.writeBigUInt64LE(BigInt(handler), 0);
  act.writeBigUInt64LE(BigInt(flags), 8);
  act.writeBigUInt64LE(BigInt(restorer), 16);
  return act;
}

/** The `/pause` executable for an architecture (default: this process'). */
export function pauseElf(arch: string = process.arch): Buffer {
  let prog: Program;
  if (arch === 'x64') prog = x64();
  else if (arch === 'arm64') prog = arm64();
  else throw new Error(`pause image: unsupported architecture '${arch}' (supported: x64, arm64)`);

  const size = CODE_OFFSET + prog.code.length;
  const h = Buffer.alloc(CODE_OFFSET);
  // ELF header.
  h.set([0x7f, 0x45, 0x4c, 0x46, 2 /* 64-bit */, 1 /* little endian */, 1 /* version */, 0 /* SysV ABI */], 0);
  h.writeUInt16LE(2, 16); // e_type: ET_EXEC
  h.writeUInt16LE(prog.machine, 18);
  h.writeUInt32LE(1, 20); // e_version
  h.writeBigUInt64LE(BigInt(BASE + CODE_OFFSET), 24); // e_entry
  h.writeBigUInt64LE(BigInt(EHDR_SIZE), 32); // e_phoff
  h.writeBigUInt64LE(0n, 40); // e_shoff: no sections
  h.writeUInt32LE(0, 48); // e_flags
  h.writeUInt16LE(EHDR_SIZE, 52); // e_ehsize
  h.writeUInt16LE(PHDR_SIZE, 54); // e_phentsize
  h.writeUInt16LE(1, 56); // e_phnum
  h.writeUInt16LE(64, 58); // e_shentsize
  h.writeUInt16LE(0, 60); // e_shnum
  h.writeUInt16LE(0, 62); // e_shstrndx
  // Program header: PT_LOAD of the whole file, readable and executable.
  const p = EHDR_SIZE;
  h.writeUInt32LE(1, p); // p_type: PT_LOAD
  h.writeUInt32LE(5, p + 4); // p_flags: R | X
  h.writeBigUInt64LE(0n, p + 8); // p_offset
  h.writeBigUInt64LE(BigInt(BASE), p + 16); // p_vaddr
  h.writeBigUInt64LE(BigInt(BASE), p + 24); // p_paddr
  h.writeBigUInt64LE(BigInt(size), p + 32); // p_filesz
  h.writeBigUInt64LE(BigInt(size), p + 40); // p_memsz
  h.writeBigUInt64LE(BigInt(prog.align), p + 48); // p_align
  return Buffer.concat([h, prog.code]);
}

/** A rootfs tarball holding only `/pause`, ready for `docker import`. */
export async function pauseRootfsTar(arch: string = process.arch): Promise<Buffer> {
  const elf = pauseElf(arch);
  return tarBuffer((pack) => pack.entry({ name: 'pause', mode: 0o755, mtime: new Date(0) }, elf));
}

/** A tar archive in memory: `fill` adds the entries (tar-stream's pack), then it is finalized. */
export async function tarBuffer(fill: (pack: tar.Pack) => void): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    if (Buffer.isBuffer(c)) chunks.push(c);
  });
  const ended = new Promise<void>((res, rej) => {
    pack.on('end', res);
    pack.on('error', rej);
  });
  fill(pack);
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}
