/* Transparent redirect: where a redirected connection was going. Included by
 * quarantine.bpf.c, whose connect4/6 programs do the rewrite.
 *
 * At connect() the client's source port is not chosen yet, so connect4/6 key
 * the original destination by socket cookie; a sockops program at
 * TCP_CONNECT_CB (source address and port bound, SYN not yet sent) moves it to
 * a map keyed by the client's address and port, which is what the proxy sees
 * as the peer of the connection it accepts. Both maps are LRU: an entry the
 * proxy never reads (the client gave up) ages out instead of filling the map. */
#ifndef HIGGS_REDIRECT_BPF_H
#define HIGGS_REDIRECT_BPF_H

#include "higgs.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif
#define HIGGS_SOCK_OPS_TCP_CONNECT_CB 3

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct higgs_redirect_origin);
} redirect_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct higgs_redirect_client);
	__type(value, struct higgs_redirect_origin);
} redirect_origin SEC(".maps");

/* Called by connect4/6 just before rewriting the destination. */
static __always_inline void remember_origin(struct bpf_sock_addr *ctx, __u16 family, const __u8 *daddr, __u32 dport_be, __u64 cg)
{
	struct higgs_redirect_origin o = {};
	__u64 cookie = bpf_get_socket_cookie(ctx);
	o.family = family;
	o.port = bpf_ntohs((__u16)dport_be);
	if (family == AF_INET)
		__builtin_memcpy(o.addr, daddr, 4);
	else
		__builtin_memcpy(o.addr, daddr, 16);
	o.cgroup_id = cg;
	o.pid = bpf_get_current_pid_tgid() >> 32;
	if (bpf_map_update_elem(&redirect_pending, &cookie, &o, BPF_ANY))
		count(HIGGS_CNT_HELPER_FAILED);
}

/* Moves the pending origin of a connecting socket to its client tuple. */
SEC("sockops")
int higgs_redirect_sockops(struct bpf_sock_ops *skops)
{
	if (skops->op != HIGGS_SOCK_OPS_TCP_CONNECT_CB)
		return 1;
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct higgs_redirect_origin *pending = bpf_map_lookup_elem(&redirect_pending, &cookie);
	if (!pending)
		return 1;
	struct higgs_redirect_origin o = *pending;
	struct higgs_redirect_client c = {};
	c.family = (__u16)skops->family;
	c.port = (__u16)skops->local_port; /* host order */
	if (skops->family == AF_INET) {
		__u32 a = skops->local_ip4;
		__builtin_memcpy(c.addr, &a, 4);
	} else {
		__u32 w0 = skops->local_ip6[0], w1 = skops->local_ip6[1], w2 = skops->local_ip6[2], w3 = skops->local_ip6[3];
		__builtin_memcpy(&c.addr[0], &w0, 4);
		__builtin_memcpy(&c.addr[4], &w1, 4);
		__builtin_memcpy(&c.addr[8], &w2, 4);
		__builtin_memcpy(&c.addr[12], &w3, 4);
	}
	if (bpf_map_update_elem(&redirect_origin, &c, &o, BPF_ANY))
		count(HIGGS_CNT_HELPER_FAILED);
	bpf_map_delete_elem(&redirect_pending, &cookie);
	return 1;
}

#endif
