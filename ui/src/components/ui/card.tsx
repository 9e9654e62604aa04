import type { ComponentProps } from 'react';
import { cn } from '../../lib/cn.ts';

/** A bordered region; give it `aria-labelledby` pointing at its CardTitle. */
export function Card({ className, ...props }: ComponentProps<'section'>) {
  return <section className={cn('flex min-w-0 flex-col rounded-lg border bg-card text-card-foreground', className)} {...props} />;
}

export function CardHeader({ className, ...props }: ComponentProps<'div'>) {
  return <div className={cn('flex items-center justify-between gap-2 border-b px-3 py-2', className)} {...props} />;
}

export function CardTitle({ className, ...props }: ComponentProps<'h2'>) {
  return <h2 className={cn('text-xs font-semibold uppercase tracking-wider text-muted-foreground', className)} {...props} />;
}

export function CardContent({ className, ...props }: ComponentProps<'div'>) {
  return <div className={cn('min-h-0 p-3', className)} {...props} />;
}
