import type { z } from 'zod';

/**
 * A zod failure as one line per issue with its field path (`args.namespace:
 * Too small …`), for INVALID_INPUT messages: paths and reasons, never a stack.
 */
export function describeZodError(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
