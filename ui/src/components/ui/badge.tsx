import { cva, type VariantProps } from 'class-variance-authority';
import type { ComponentProps } from 'react';
import { cn } from '../../lib/cn.ts';

export const badgeVariants = cva(
  'inline-flex items-center rounded-sm border px-1.5 py-px text-[11px] font-semibold uppercase tracking-wide whitespace-nowrap',
  {
    variants: {
      tone: {
        neutral: 'border-border bg-muted text-muted-foreground',
        critical: 'border-critical/40 bg-critical/15 text-critical',
        high: 'border-high/40 bg-high/15 text-high',
        medium: 'border-medium/40 bg-medium/15 text-medium',
        low: 'border-low/40 bg-low/15 text-low',
        success: 'border-success/40 bg-success/15 text-success',
        info: 'border-primary/40 bg-primary/15 text-primary',
      },
    },
    defaultVariants: { tone: 'neutral' },
  },
);

export function Badge({ className, tone, ...props }: ComponentProps<'span'> & VariantProps<typeof badgeVariants>) {
  return <span className={cn(badgeVariants({ tone }), className)} {...props} />;
}
