import { cva, type VariantProps } from 'class-variance-authority';
import type { ComponentProps } from 'react';
import { cn } from '../../lib/cn.ts';

const alertVariants = cva('rounded-md border px-3 py-2 text-sm', {
  variants: {
    tone: {
      error: 'border-destructive/50 bg-destructive/10 text-foreground',
      success: 'border-success/50 bg-success/10 text-foreground',
      info: 'border-border bg-muted text-foreground',
    },
  },
  defaultVariants: { tone: 'info' },
});

/** An inline message; errors are announced to screen readers (role="alert"), the rest politely (role="status"). */
export function Alert({ className, tone, ...props }: ComponentProps<'div'> & VariantProps<typeof alertVariants>) {
  return <div role={tone === 'error' ? 'alert' : 'status'} className={cn(alertVariants({ tone }), className)} {...props} />;
}
