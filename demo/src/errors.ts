/** The launcher's error catalogue. */
export const DEMO_ERROR_CODES = ['CONFIG_INVALID', 'CGROUP_CLEANUP_FAILED'] as const;
export type DemoErrorCode = (typeof DEMO_ERROR_CODES)[number];

export class DemoError extends Error {
  override readonly name = 'DemoError';
  constructor(readonly code: DemoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
