// SPDX-License-Identifier: GPL-2.0
/* Flow tracing: every TCP state change (sock:inet_sock_set_state) into the ring buffer, so discovery
 * sees connections to AI providers even when no payload is visible. The pid,
 * comm and cgroup are the current task's: exact for transitions made in the
 * caller's context (CLOSE -> SYN_SENT on connect(), * -> CLOSE on close()),
 * best effort for those made in softirq (SYN_SENT -> ESTABLISHED). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"

#define AF_INET 2
#define IPPROTO_TCP 6

/* tp_btf (a BTF-typed raw tracepoint): attaches without tracefs and reads
 * the socket directly, with CO-RE relocations. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(higgs_flow, const struct sock *sk, const int oldstate, const int newstate)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	struct higgs_event *e = reserve_event(HIGGS_EV_FLOW);
	if (!e)
		return 0;
	e->family = sk->__sk_common.skc_family;
	e->sport = sk->__sk_common.skc_num; /* host order; 0 until connect() binds it */
	e->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	e->oldstate = (__u8)oldstate;
	e->newstate = (__u8)newstate;
	if (e->family == AF_INET) {
		__u32 s4 = sk->__sk_common.skc_rcv_saddr, d4 = sk->__sk_common.skc_daddr;
		__builtin_memcpy(e->saddr, &s4, 4);
		__builtin_memcpy(e->daddr, &d4, 4);
	} else {
		long err = bpf_probe_read_kernel(e->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr) |
			   bpf_probe_read_kernel(e->daddr, 16, &sk->__sk_common.skc_v6_daddr);
		if (err)
			count(HIGGS_CNT_HELPER_FAILED);
	}
	count(HIGGS_CNT_FLOW_EVENTS);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
