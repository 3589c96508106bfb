/** ELF machine numbers of the architectures K3s is released for, with `uname -m`'s names for them. */
const MACHINES: Record<number, { arch: string; uname: string[] }> = {
  0x3e: { arch: 'x86_64 (amd64)', uname: ['x86_64'] },
  0xb7: { arch: 'aarch64 (arm64)', uname: ['aarch64', 'arm64'] },
  0x28: { arch: 'arm (armhf)', uname: ['armv7l', 'armv8l', 'armv6l'] },
  0xf3: { arch: 'riscv64', uname: ['riscv64'] },
  0x16: { arch: 's390x', uname: ['s390x'] },
};

export type Executable = { arch: string; uname: string[] } | { problem: string };

/**
 * What a file given as the K3s binary is, read from its ELF header: the architecture it runs on,
 * or why it is not a Linux executable at all (a script, a tarball, a download's error page).
 */
export function elfExecutable(content: Buffer): Executable {
  if (content.length < 20 || content.readUInt32BE(0) !== 0x7f454c46)
    return { problem: 'it is not an ELF executable (a script, an archive, an error page?)' };
  const littleEndian = content[5] === 1;
  const type = littleEndian ? content.readUInt16LE(16) : content.readUInt16BE(16);
  // ET_EXEC, or ET_DYN for position-independent executables; shared libraries are ET_DYN too, but
  // carry no interpreter or entry point worth checking here.
  if (type !== 2 && type !== 3) return { problem: `it is an ELF file but not an executable (type ${type})` };
  const machine = littleEndian ? content.readUInt16LE(18) : content.readUInt16BE(18);
  return MACHINES[machine] ?? { problem: `it is an executable for ELF machine ${machine}, not one K3s runs on` };
}
