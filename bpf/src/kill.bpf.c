// SPDX-License-Identifier: GPL-2.0
/* Session kill: an iter/tcp program that destroys exactly the sockets listed in
 * `kill_targets` (bpf_sock_destroy, Linux >= 6.5). The owning process sees
 * ECONNABORTED on that socket only; its other connections, in the same
 * process and cgroup, stay up. Each matched socket is reported to the reader
 * of the iterator as a struct higgs_kill_record. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define TCP_TIME_WAIT 6
#define TCP_NEW_SYN_RECV 12

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct higgs_sock_key);
	__type(value, __u32);
} kill_targets SEC(".maps");

/* Never read: puts the record into the object's BTF for the layout check. */
const volatile struct higgs_kill_record higgs_kill_record_btf = {};

SEC("iter/tcp")
int higgs_kill(struct bpf_iter__tcp *ctx)
{
	struct sock_common *sk = ctx->sk_common;
	if (!sk)
		return 0;
	/* timewait and request sockets are not full sockets: nothing to destroy */
	if (sk->skc_state == TCP_TIME_WAIT || sk->skc_state == TCP_NEW_SYN_RECV)
		return 0;
	struct higgs_kill_record rec = {};
	rec.key.family = sk->skc_family;
	rec.key.lport = sk->skc_num;
	rec.key.rport = bpf_ntohs(sk->skc_dport);
	if (rec.key.family == AF_INET) {
		__u32 l = sk->skc_rcv_saddr, r = sk->skc_daddr;
		__builtin_memcpy(rec.key.laddr, &l, 4);
		__builtin_memcpy(rec.key.raddr, &r, 4);
	} else if (rec.key.family == AF_INET6) {
		if (bpf_probe_read_kernel(rec.key.laddr, 16, &sk->skc_v6_rcv_saddr) ||
		    bpf_probe_read_kernel(rec.key.raddr, 16, &sk->skc_v6_daddr)) {
			count(HIGGS_CNT_HELPER_FAILED);
			return 0;
		}
	} else {
		return 0;
	}
	if (!bpf_map_lookup_elem(&kill_targets, &rec.key))
		return 0;
	rec.state = sk->skc_state;
	rec.cookie = bpf_get_socket_cookie(sk);
	rec.err = bpf_sock_destroy(sk);
	count(rec.err ? HIGGS_CNT_HELPER_FAILED : HIGGS_CNT_SOCKETS_DESTROYED);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
