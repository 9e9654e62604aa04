// SPDX-License-Identifier: GPL-2.0
/* Namespace quarantine: a cgroup in `quarantine` may not reach an address in
 * the AI-provider tries. connect4/6 refuse new connections (EPERM); egress
 * drops packets of connections opened before the quarantine. Attached once at
 * the cgroup v2 root, so every workload below it is covered.
 *
 * Transparent redirect, in the same connect hooks: a cgroup in `redirect`
 * (an enforce-labelled workload) connecting to a provider is sent to the node
 * proxy instead, so a workload with no proxy settings is inspected. A
 * quarantine wins over a redirect. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"
#include "redirect.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct higgs_quarantine);
} quarantine SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__type(key, struct higgs_lpm_v4);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} providers_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__type(key, struct higgs_lpm_v6);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} providers_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} redirect SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct higgs_redirect_target);
} redirect_target SEC(".maps");

static __always_inline struct higgs_redirect_target *redirect_for(__u64 cg)
{
	if (!bpf_map_lookup_elem(&redirect, &cg))
		return 0;
	__u32 zero = 0;
	struct higgs_redirect_target *t = bpf_map_lookup_elem(&redirect_target, &zero);
	if (!t || t->tls_port == 0 || t->proxy_cgroup == cg)
		return 0;
	return t;
}

static __always_inline __u32 proxy_port(struct higgs_redirect_target *t, __u32 user_port)
{
	return bpf_htons(bpf_ntohs((__u16)user_port) == 443 ? t->tls_port : t->plain_port);
}

static __always_inline int deny(struct higgs_quarantine *q, __u16 family, const __u8 *daddr, int alen, __u32 dport_be)
{
	__sync_fetch_and_add(&q->denied, 1);
	count(HIGGS_CNT_CONNECT_DENIED);
	struct higgs_event *e = reserve_event(HIGGS_EV_CONNECT_DENIED);
	if (e) {
		e->family = family;
		e->dport = bpf_ntohs((__u16)dport_be);
		if (alen == 4)
			__builtin_memcpy(e->daddr, daddr, 4);
		else
			__builtin_memcpy(e->daddr, daddr, 16);
		bpf_ringbuf_submit(e, 0);
	}
	return 0; /* the connect() fails with EPERM */
}

SEC("cgroup/connect4")
int higgs_connect4(struct bpf_sock_addr *ctx)
{
	__u64 cg = bpf_get_current_cgroup_id();
	struct higgs_quarantine *q = bpf_map_lookup_elem(&quarantine, &cg);
	struct higgs_redirect_target *t = q ? 0 : redirect_for(cg);
	if (!q && !t)
		return 1;
	struct higgs_lpm_v4 key = { .prefixlen = 32 };
	__u32 ip = ctx->user_ip4;
	__builtin_memcpy(key.addr, &ip, 4);
	if (!bpf_map_lookup_elem(&providers_v4, &key))
		return 1;
	if (q)
		return deny(q, AF_INET, key.addr, 4, ctx->user_port);
	remember_origin(ctx, AF_INET, key.addr, ctx->user_port, cg);
	__u32 proxy;
	__builtin_memcpy(&proxy, t->addr4, 4);
	ctx->user_ip4 = proxy;
	ctx->user_port = proxy_port(t, ctx->user_port);
	count(HIGGS_CNT_CONNECT_REDIRECTED);
	return 1;
}

SEC("cgroup/connect6")
int higgs_connect6(struct bpf_sock_addr *ctx)
{
	__u64 cg = bpf_get_current_cgroup_id();
	struct higgs_quarantine *q = bpf_map_lookup_elem(&quarantine, &cg);
	struct higgs_redirect_target *t = q ? 0 : redirect_for(cg);
	if (!q && !t)
		return 1;
	struct higgs_lpm_v6 key = { .prefixlen = 128 };
	__u32 w0 = ctx->user_ip6[0], w1 = ctx->user_ip6[1], w2 = ctx->user_ip6[2], w3 = ctx->user_ip6[3];
	__builtin_memcpy(&key.addr[0], &w0, 4);
	__builtin_memcpy(&key.addr[4], &w1, 4);
	__builtin_memcpy(&key.addr[8], &w2, 4);
	__builtin_memcpy(&key.addr[12], &w3, 4);
	if (!bpf_map_lookup_elem(&providers_v6, &key))
		return 1;
	if (q)
		return deny(q, AF_INET6, key.addr, 16, ctx->user_port);
	__u32 p0, p1, p2, p3;
	__builtin_memcpy(&p0, &t->addr6[0], 4);
	__builtin_memcpy(&p1, &t->addr6[4], 4);
	__builtin_memcpy(&p2, &t->addr6[8], 4);
	__builtin_memcpy(&p3, &t->addr6[12], 4);
	if (!(p0 | p1 | p2 | p3))
		return 1; /* no IPv6 proxy address: leave the connection alone */
	remember_origin(ctx, AF_INET6, key.addr, ctx->user_port, cg);
	ctx->user_ip6[0] = p0;
	ctx->user_ip6[1] = p1;
	ctx->user_ip6[2] = p2;
	ctx->user_ip6[3] = p3;
	ctx->user_port = proxy_port(t, ctx->user_port);
	count(HIGGS_CNT_CONNECT_REDIRECTED);
	return 1;
}

SEC("cgroup_skb/egress")
int higgs_egress(struct __sk_buff *skb)
{
	__u64 cg = bpf_skb_cgroup_id(skb);
	if (!bpf_map_lookup_elem(&quarantine, &cg))
		return 1;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct higgs_lpm_v4 key = { .prefixlen = 32 };
		if (bpf_skb_load_bytes(skb, 16, key.addr, 4))
			return 1;
		if (!bpf_map_lookup_elem(&providers_v4, &key))
			return 1;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct higgs_lpm_v6 key = { .prefixlen = 128 };
		if (bpf_skb_load_bytes(skb, 24, key.addr, 16))
			return 1;
		if (!bpf_map_lookup_elem(&providers_v6, &key))
			return 1;
	} else {
		return 1;
	}
	count(HIGGS_CNT_EGRESS_DROPPED);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
