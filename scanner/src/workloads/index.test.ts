import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../logger.ts';
import { LocalFileWorkloadSource, workloadRef } from './index.ts';

const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'higgs-wl-'));
  file = join(dir, 'workloads.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (workloads: unknown[]) => writeFileSync(file, JSON.stringify({ workloads }));

describe('LocalFileWorkloadSource', () => {
  it('resolves a source IP to its workload and mode from labels', () => {
    write([
      { namespace: 'support', app: 'support-bot', ips: ['127.0.1.1'], labels: { 'higgs.scan': 'enabled', 'higgs.io/enforce': 'enabled' } },
      { namespace: 'research', app: 'notebook', ips: ['127.0.1.2'], labels: { 'higgs.scan': 'enabled' } },
      { namespace: 'legacy', app: 'cron', ips: ['127.0.1.3'], labels: {} },
    ]);
    const src = new LocalFileWorkloadSource(file, quiet);
    try {
      expect(src.resolve('127.0.1.1')).toEqual({ namespace: 'support', app: 'support-bot', mode: 'enforce' });
      expect(src.resolve('::ffff:127.0.1.2')).toEqual({ namespace: 'research', app: 'notebook', mode: 'observe' });
      expect(src.resolve('127.0.1.3')?.mode).toBeNull();
      expect(src.resolve('10.9.9.9')).toBeNull();
      expect(workloadRef('10.9.9.9', null)).toEqual({ ip: '10.9.9.9', namespace: null, app: null, mode: null });
    } finally {
      src.close();
    }
  });

  it('lists every workload with its cgroup, when the file names one, for the kernel primitives', () => {
    write([
      { namespace: 'payments', app: 'api', ips: ['127.0.1.1'], labels: {}, cgroup: '/sys/fs/cgroup/payments-api' },
      { namespace: 'support', app: 'bot', ips: ['127.0.1.2', '127.0.1.3'], labels: { 'higgs.scan': 'enabled' } },
    ]);
    const src = new LocalFileWorkloadSource(file, quiet);
    try {
      expect(src.list()).toEqual([
        { namespace: 'payments', app: 'api', mode: null, cgroup: '/sys/fs/cgroup/payments-api' },
        { namespace: 'support', app: 'bot', mode: 'observe' },
      ]);
    } finally {
      src.close();
    }
  });

  it('picks up a changed file without a restart and keeps the old table when the new one is invalid', async () => {
    write([{ namespace: 'support', app: 'bot', ips: ['127.0.1.1'], labels: { 'higgs.scan': 'enabled' } }]);
    const src = new LocalFileWorkloadSource(file, quiet, 50);
    try {
      expect(src.resolve('127.0.1.1')?.mode).toBe('observe');
      await new Promise((r) => setTimeout(r, 20)); // a later mtime
      write([{ namespace: 'support', app: 'bot', ips: ['127.0.1.1'], labels: { 'higgs.io/enforce': 'enabled' } }]);
      await expect.poll(() => src.resolve('127.0.1.1')?.mode, { timeout: 3000 }).toBe('enforce');
      await new Promise((r) => setTimeout(r, 20));
      writeFileSync(file, '{"workloads": [ broken');
      await new Promise((r) => setTimeout(r, 300));
      expect(src.resolve('127.0.1.1')?.mode).toBe('enforce');
    } finally {
      src.close();
    }
  });
});
