import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { requireOrSkip } from '@higgs/evals/testing';
import { LAYOUTS } from './layout.ts';
import { objectPath } from './native.ts';

const BPFTOOL = '/usr/sbin/bpftool';
const OBJECTS = ['quarantine', 'flow', 'kill', 'tls'];
// the structs each object's decoders read
const EXPECTED: Record<string, (keyof typeof LAYOUTS)[]> = {
  quarantine: ['higgs_event', 'higgs_quarantine', 'higgs_lpm_v4', 'higgs_lpm_v6', 'higgs_redirect_target', 'higgs_redirect_client', 'higgs_redirect_origin'],
  flow: ['higgs_event'],
  kill: ['higgs_sock_key', 'higgs_kill_record'],
  tls: ['higgs_tls_event', 'higgs_sock_key'],
};
const missing = !existsSync(BPFTOOL)
  ? `${BPFTOOL} not found (apt-get install bpftool)`
  : OBJECTS.filter((o) => !existsSync(objectPath(o))).map((o) => `${o}.bpf.o not built (npm run build -w @higgs/bpf)`).join('; ') || null;
const run = requireOrSkip('BPF', missing);

interface BtfStruct {
  kind: string;
  name?: string;
  size?: number;
  members?: { name: string; bits_offset: number }[];
}

function structsOf(object: string): Map<string, BtfStruct> {
  const out = execFileSync(BPFTOOL, ['-j', 'btf', 'dump', 'file', objectPath(object), 'format', 'raw'], { maxBuffer: 64 << 20 });
  const types = (JSON.parse(out.toString()) as { types: BtfStruct[] }).types;
  return new Map(types.filter((t) => t.kind === 'STRUCT' && t.name).map((t) => [t.name!, t]));
}

describe.runIf(run)('C structs and TypeScript decoders agree (object BTF)', () => {
  for (const object of OBJECTS) {
    it(`${object}.bpf.o: every struct the decoders read has their size and offsets`, () => {
      const structs = structsOf(object);
      for (const name of EXPECTED[object]!) {
        const btf = structs.get(name);
        expect(btf, `${name} in ${object}.bpf.o BTF`).toBeDefined();
        expect({ name, size: btf!.size }).toEqual({ name, size: LAYOUTS[name].size });
        const offsets = Object.fromEntries(btf!.members!.map((m) => [m.name, m.bits_offset / 8]));
        expect(offsets).toEqual(LAYOUTS[name].offsets);
      }
    });
  }
});
