import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

/** A network namespace joined to this one by a veth pair, as a Kubernetes pod has. */
export interface PodNetwork {
  /** the namespace's name under /run/netns (`ip netns`) */
  name: string;
  /** its path, for nsenter(1) and a kill's `netns` */
  path: string;
  /** this namespace's end of the pair: the node's address as the pod reaches it */
  nodeIp: string;
  /** the pod's own address */
  podIp: string;
  /** deletes the namespace, and with its end the veth pair */
  remove(): void;
}

const EHASH_SYSCTL = '/proc/sys/net/ipv4/tcp_child_ehash_entries';

/**
 * Creates a pod-like network namespace (needs root and iproute2): loopback up,
 * a /30 in 10.<second octet>.x.0 on a veth pair to this namespace, and with
 * `defaultRoute` a default route through the node's end of it. With
 * `ehashEntries`, the namespace gets a TCP hash of its own of that size
 * (net.ipv4.tcp_child_ehash_entries is set for its creation and restored at
 * once; 0, the default, shares the host's). Join it with
 * `nsenter --net=<path>`: `ip netns exec` also remounts /sys, which hides the
 * cgroup hierarchy a test moves the process into.
 */
export function podNetwork(opts: { secondOctet: number; ehashEntries?: number; defaultRoute?: boolean }): PodNetwork {
  const suffix = randomBytes(3).toString('hex');
  const name = `higgs-${process.pid}-${suffix}`;
  const [nodeIf, podIf] = [`hn${suffix}`, `hp${suffix}`];
  const subnet = `10.${opts.secondOctet}.${1 + (parseInt(suffix, 16) % 250)}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const before = opts.ehashEntries === undefined ? null : readFileSync(EHASH_SYSCTL, 'utf8').trim();
  if (opts.ehashEntries !== undefined) writeFileSync(EHASH_SYSCTL, String(opts.ehashEntries));
  try {
    ip('netns', 'add', name);
  } finally {
    if (before !== null) writeFileSync(EHASH_SYSCTL, before);
  }
  const remove = () => ip('netns', 'del', name);
  try {
    ip('link', 'add', nodeIf, 'type', 'veth', 'peer', 'name', podIf, 'netns', name);
    ip('addr', 'add', `${subnet}.1/30`, 'dev', nodeIf);
    ip('link', 'set', nodeIf, 'up');
    ip('-n', name, 'addr', 'add', `${subnet}.2/30`, 'dev', podIf);
    ip('-n', name, 'link', 'set', podIf, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
    // everything beyond the pair through the node, as a pod's default gateway
    if (opts.defaultRoute) ip('-n', name, 'route', 'add', 'default', 'via', `${subnet}.1`);
  } catch (err) {
    remove();
    throw err;
  }
  return { name, path: `/run/netns/${name}`, nodeIp: `${subnet}.1`, podIp: `${subnet}.2`, remove };
}
