// SPDX-License-Identifier: GPL-2.0
/* TLS observation: uprobes on OpenSSL's SSL_write / SSL_write_ex (plaintext
 * at entry) and SSL_read / SSL_read_ex (plaintext at return), in libssl.so.3
 * and in binaries that link OpenSSL statically (node). Bounded copies into
 * the `tls_events` ring buffer; observe-only workloads need no proxy, no CA.
 * BPF_KPROBE/BPF_KRETPROBE read uprobe arguments the same way (libbpf 1.1
 * has no BPF_UPROBE). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common.bpf.h"

#define TLS_HEADER_BYTES __builtin_offsetof(struct higgs_tls_event, data)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} tls_events SEC(".maps");

/* A record is too big for the BPF stack: build it per CPU, then copy it out. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct higgs_tls_event);
} tls_scratch SEC(".maps");

struct read_args {
	__u64 ssl;
	__u64 buf;
	__u64 readbytes; /* size_t * of SSL_read_ex; 0 for SSL_read */
};

/* SSL_read* arguments from entry to return, per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct read_args);
} tls_reads SEC(".maps");

/* Which processes may be read at all: when tls_config[0] is 1, only those
 * whose cgroup v2 id is in tls_cgroups (the scanner keeps it equal to its
 * labelled workload pods). Checked before any plaintext is copied, so an
 * unlabelled process's TLS never leaves the kernel. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} tls_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tls_config SEC(".maps");

/* SSL calls not captured because the caller's cgroup is not allowed (per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tls_filtered SEC(".maps");

static __always_inline int allowed(void)
{
	__u32 zero = 0;
	__u32 *on = bpf_map_lookup_elem(&tls_config, &zero);
	if (!on || !*on)
		return 1;
	__u64 cg = bpf_get_current_cgroup_id();
	if (bpf_map_lookup_elem(&tls_cgroups, &cg))
		return 1;
	__u64 *n = bpf_map_lookup_elem(&tls_filtered, &zero);
	if (n)
		*n += 1;
	return 0;
}

static __always_inline void emit(__u64 ssl, const void *buf, __u64 len, __u8 direction)
{
	__u32 zero = 0;
	struct higgs_tls_event *e = bpf_map_lookup_elem(&tls_scratch, &zero);
	if (!e)
		return;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->ssl = ssl;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->len = len > 0xffffffff ? 0xffffffff : (__u32)len;
	e->direction = direction;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* one volatile load, then the clamp on that very register: otherwise clang
	 * passes the unclamped `len` register, which the verifier cannot bound */
	volatile __u32 wanted = len > HIGGS_TLS_MAX ? HIGGS_TLS_MAX : (__u32)len;
	__u32 n = wanted;
	if (n > HIGGS_TLS_MAX)
		n = HIGGS_TLS_MAX;
	if (n && bpf_probe_read_user(e->data, n, buf)) {
		count(HIGGS_CNT_HELPER_FAILED);
		n = 0;
	}
	e->captured = n;
	if (bpf_ringbuf_output(&tls_events, e, TLS_HEADER_BYTES + n, 0))
		count(HIGGS_CNT_RINGBUF_FULL);
}

SEC("uprobe")
int BPF_KPROBE(higgs_ssl_write, void *ssl, const void *buf, int num)
{
	if (num > 0 && allowed())
		emit((__u64)ssl, buf, (__u64)num, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(higgs_ssl_write_ex, void *ssl, const void *buf, size_t num)
{
	if (num > 0 && allowed())
		emit((__u64)ssl, buf, num, 0);
	return 0;
}

static __always_inline void stash_read(void *ssl, void *buf, void *readbytes)
{
	/* not stashed: the return probe then finds nothing and copies nothing */
	if (!allowed())
		return;
	__u64 id = bpf_get_current_pid_tgid();
	struct read_args a = { .ssl = (__u64)ssl, .buf = (__u64)buf, .readbytes = (__u64)readbytes };
	if (bpf_map_update_elem(&tls_reads, &id, &a, BPF_ANY))
		count(HIGGS_CNT_HELPER_FAILED);
}

SEC("uprobe")
int BPF_KPROBE(higgs_ssl_read, void *ssl, void *buf, int num)
{
	stash_read(ssl, buf, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(higgs_ssl_read_ex, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	stash_read(ssl, buf, readbytes);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(higgs_ssl_read_ret, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct read_args *a = bpf_map_lookup_elem(&tls_reads, &id);
	if (!a)
		return 0;
	struct read_args args = *a;
	bpf_map_delete_elem(&tls_reads, &id);
	if (ret <= 0)
		return 0;
	__u64 n = (__u64)ret;
	if (args.readbytes) {
		/* SSL_read_ex returns 1 and stores the count through its 4th argument */
		if (bpf_probe_read_user(&n, sizeof(n), (void *)args.readbytes)) {
			count(HIGGS_CNT_HELPER_FAILED);
			return 0;
		}
	}
	emit(args.ssl, (const void *)args.buf, n, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
