import { randomUUID } from 'node:crypto';

/** A new opaque id with a readable prefix (`fnd_…`, `rul_…`). */
export function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '')}`;
}

/** Timestamps come back as Date (PGlite, node-postgres) or text; the domain speaks ISO-8601. */
export function toIso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

export function toIsoOrNull(value: Date | string | null): string | null {
  return value === null ? null : toIso(value);
}

/** bigint columns may arrive as string (node-postgres) or number (PGlite). */
export function toInt(value: number | string | bigint): number {
  return Number(value);
}

/** Keyset cursors are opaque to callers: base64url JSON of the last row's sort key. */
export function encodeCursor(key: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): unknown[] | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(parsed) ? parsed : null;
  } catch {
    return null;
  }
}
