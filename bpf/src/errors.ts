/** Error codes of @higgs/bpf; tests assert on these, never on message text. */
export const BpfErrorCode = {
  /** The addon, the compiled objects, privileges or a kernel feature are missing. */
  UNAVAILABLE: 'BPF_UNAVAILABLE',
  /** libbpf refused to open or load an object; the message carries the verifier log. */
  LOAD_FAILED: 'BPF_LOAD_FAILED',
  /** A program could not be attached, pinned or detached. */
  ATTACH_FAILED: 'BPF_ATTACH_FAILED',
  /** A map lookup, update, delete or iteration failed. */
  MAP_FAILED: 'BPF_MAP_FAILED',
  /** An argument the kernel cannot take: a bad CIDR, a cgroup that does not exist. */
  INVALID_ARGUMENT: 'BPF_INVALID_ARGUMENT',
  /** The handle was used after close(). */
  CLOSED: 'BPF_CLOSED',
} as const;
export type BpfErrorCode = (typeof BpfErrorCode)[keyof typeof BpfErrorCode];

export class BpfError extends Error {
  override readonly name = 'BpfError';
  constructor(readonly code: BpfErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
