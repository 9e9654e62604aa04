import type { z } from 'zod';

/** `events[3].event.ts: Invalid ISO datetime; …` — names the field path of each issue (first five). */
export function zodMessage(error: z.ZodError): string {
  const parts = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.reduce<string>(
      (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '',
    );
    return `${path || '(body)'}: ${issue.message}`;
  });
  const more = error.issues.length > 5 ? `; and ${error.issues.length - 5} more` : '';
  return parts.join('; ') + more;
}
