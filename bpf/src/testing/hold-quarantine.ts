// Test fixture: a loader process that quarantines one cgroup, says "ready",
// and waits to be killed (quarantine.int.test.ts kills it with SIGKILL).
// argv: <pinDir> <attachCgroup> <providerCidr> <quarantinedCgroup>
import { cgroupIdOf, loadPrograms } from '../index.ts';

const [pinDir, attachCgroup, provider, quarantined] = process.argv.slice(2) as [string, string, string, string];
const bpf = loadPrograms({ pinDir, cgroupRoot: attachCgroup, flows: false });
bpf.quarantine.addProvider(provider);
bpf.quarantine.quarantine(cgroupIdOf(quarantined));
process.stdout.write(`ready ${bpf.quarantine.adopted ? 'adopted' : 'loaded'}\n`);
setInterval(() => {}, 60_000);
