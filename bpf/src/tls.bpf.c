// SPDX-License-Identifier: GPL-2.0
/* TLS observation: uprobes on OpenSSL's SSL_write / SSL_write_ex (plaintext
 * at entry) and SSL_read / SSL_read_ex (plaintext at return), in libssl.so.3
 * and in binaries that link OpenSSL statically (node). Bounded copies into
 * the `tls_events` ring buffer; observe-only workloads need no proxy, no CA.
 * BPF_KPROBE/BPF_KRETPROBE read uprobe arguments the same way (libbpf 1.1
 * has no BPF_UPROBE).
 *
 * Only calls that moved bytes are recorded, at their return (ret > 0, the
 * count from SSL_*_ex's last argument): a write that failed with
 * SSL_ERROR_WANT_* is retried by the caller with the same bytes, and
 * recording it at entry would report them twice.
 *
 * Each record carries the TCP connection it travelled on, found without
 * reading OpenSSL's structs (their offsets change between releases and
 * builds): the sock_send_length / sock_recv_length tracepoints show the
 * TCP `struct sock` the same thread touches around the SSL call.
 *  - The entry probe marks the thread (tls_calls); a TCP send or recv on
 *    that thread before the return probe is the call's own socket (a socket
 *    BIO: libssl's default, used by curl and Python).
 *  - Else the tuple last seen for the same SSL * (tls_conns, an LRU
 *    forgotten at SSL_free).
 *  - Else, for stacks that encrypt into a memory BIO and drive the socket
 *    themselves (node's TLSWrap): a write is held per thread (tls_pending)
 *    until the thread's next TCP send, which carries its bytes (SSL_write,
 *    then uv_try_write on the same thread); a read takes the thread's last
 *    TCP recv made outside an SSL call (tls_threads: the socket read that
 *    fed the BIO just before SSL_read).
 *  - Only when all fail is the tuple absent, and that is counted in
 *    tls_tuple_missing. A held write is flushed that way if the thread
 *    holds another write, frees the SSL or exits before sending. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

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

/* A socket tuple and its cookie, as a map value. */
struct tls_socket {
	struct higgs_sock_key sock;
	__u64 cookie;
};

struct call_args {
	__u64 ssl;
	__u64 buf;
	__u64 count; /* size_t * of SSL_read_ex / SSL_write_ex; 0 for SSL_read / SSL_write */
	struct tls_socket socket; /* set by a TCP send/recv during the call */
	__u8 seen;                /* 1 once socket is set */
	__u8 direction;           /* 0 = write, 1 = read */
	__u8 pad[6];
};

/* SSL_* arguments from entry to return, per thread: also the marker "this
 * thread is inside an SSL call" for the socket programs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct call_args);
} tls_calls SEC(".maps");

/* SSL_write* records waiting for the thread's next TCP send (key: pid_tgid).
 * At most one per thread: holding another flushes the one held. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct higgs_tls_event);
} tls_pending SEC(".maps");

struct tls_conn_key {
	__u64 ssl;
	__u32 pid; /* SSL * values repeat across processes */
	__u32 pad;
};

/* The tuple last seen for an SSL *, forgotten at SSL_free (a later SSL at
 * the same address is another connection). LRU: losing an entry only costs a
 * fallback, never a record. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tls_conn_key);
	__type(value, struct tls_socket);
} tls_conns SEC(".maps");

/* Per thread that made an SSL call: the socket of its last TCP recv made
 * outside one (cookie 0: none yet). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tls_socket);
} tls_threads SEC(".maps");

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

/* Records emitted with no socket tuple (tuple == HIGGS_TLS_TUPLE_NONE), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tls_tuple_missing SEC(".maps");

static __always_inline void bump(void *map)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(map, &zero);
	if (n)
		*n += 1;
}

static __always_inline int allowed(void)
{
	__u32 zero = 0;
	__u32 *on = bpf_map_lookup_elem(&tls_config, &zero);
	if (!on || !*on)
		return 1;
	__u64 cg = bpf_get_current_cgroup_id();
	if (bpf_map_lookup_elem(&tls_cgroups, &cg))
		return 1;
	bump(&tls_filtered);
	return 0;
}

static __always_inline void read_socket(struct sock *sk, struct tls_socket *out)
{
	__builtin_memset(out, 0, sizeof(*out));
	out->sock.family = sk->__sk_common.skc_family;
	out->sock.lport = sk->__sk_common.skc_num;
	out->sock.rport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (out->sock.family == AF_INET) {
		__u32 l = sk->__sk_common.skc_rcv_saddr, r = sk->__sk_common.skc_daddr;
		__builtin_memcpy(out->sock.laddr, &l, 4);
		__builtin_memcpy(out->sock.raddr, &r, 4);
	} else if (out->sock.family == AF_INET6) {
		if (bpf_probe_read_kernel(out->sock.laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr) ||
		    bpf_probe_read_kernel(out->sock.raddr, 16, &sk->__sk_common.skc_v6_daddr))
			count(HIGGS_CNT_HELPER_FAILED);
	}
	out->cookie = bpf_get_socket_cookie(sk);
}

static __always_inline void remember(__u32 pid, __u64 ssl, const struct tls_socket *s)
{
	struct tls_conn_key k = { .ssl = ssl, .pid = pid };
	struct tls_socket *old = bpf_map_lookup_elem(&tls_conns, &k);
	if (old && old->cookie == s->cookie)
		return;
	if (bpf_map_update_elem(&tls_conns, &k, s, BPF_ANY))
		count(HIGGS_CNT_HELPER_FAILED);
}

static __always_inline void set_tuple(struct higgs_tls_event *e, const struct tls_socket *s, __u8 source)
{
	e->tuple = source;
	e->sock = s->sock;
	e->cookie = s->cookie;
}

/* The fallback for a record whose own socket call was not seen: the tuple
 * remembered for its SSL *, else `thread` (may be null), else none (counted). */
static __always_inline void fallback_tuple(struct higgs_tls_event *e, const struct tls_socket *thread)
{
	struct tls_conn_key k = { .ssl = e->ssl, .pid = e->pid };
	struct tls_socket *s = bpf_map_lookup_elem(&tls_conns, &k);
	if (s) {
		set_tuple(e, s, HIGGS_TLS_TUPLE_SSL);
		return;
	}
	if (thread && thread->cookie) {
		set_tuple(e, thread, HIGGS_TLS_TUPLE_THREAD);
		remember(e->pid, e->ssl, thread);
		return;
	}
	e->tuple = HIGGS_TLS_TUPLE_NONE;
	__builtin_memset(&e->sock, 0, sizeof(e->sock));
	e->cookie = 0;
	bump(&tls_tuple_missing);
}

static __always_inline void output(struct higgs_tls_event *e)
{
	__u32 n = e->captured;
	if (n > HIGGS_TLS_MAX)
		n = HIGGS_TLS_MAX;
	if (bpf_ringbuf_output(&tls_events, e, TLS_HEADER_BYTES + n, 0))
		count(HIGGS_CNT_RINGBUF_FULL);
}

/* Fills the per-CPU scratch record with the call and up to HIGGS_TLS_MAX bytes of `buf`. */
static __always_inline struct higgs_tls_event *build(__u64 ssl, const void *buf, __u64 len, __u8 direction)
{
	__u32 zero = 0;
	struct higgs_tls_event *e = bpf_map_lookup_elem(&tls_scratch, &zero);
	if (!e)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->ssl = ssl;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->len = len > 0xffffffff ? 0xffffffff : (__u32)len;
	e->direction = direction;
	e->tuple = HIGGS_TLS_TUPLE_NONE;
	__builtin_memset(&e->sock, 0, sizeof(e->sock));
	e->cookie = 0;
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
	return e;
}

/* A thread that makes SSL calls gets a tls_threads slot, so its later
 * TCP recvs are noted (and no other thread's are). */
static __always_inline void track_thread(__u64 id)
{
	if (bpf_map_lookup_elem(&tls_threads, &id))
		return;
	struct tls_socket none = {};
	bpf_map_update_elem(&tls_threads, &id, &none, BPF_NOEXIST);
}

/* Emits the write held for this thread with the fallback tuple: its send never came. */
static __always_inline void flush_pending(__u64 id)
{
	struct higgs_tls_event *p = bpf_map_lookup_elem(&tls_pending, &id);
	if (!p)
		return;
	fallback_tuple(p, 0);
	output(p);
	bpf_map_delete_elem(&tls_pending, &id);
}

static __always_inline void enter(void *ssl, void *buf, void *countp, __u8 direction)
{
	/* not stashed: the return probe then finds nothing and copies nothing */
	if (!allowed())
		return;
	__u64 id = bpf_get_current_pid_tgid();
	track_thread(id);
	struct call_args a = { .ssl = (__u64)ssl, .buf = (__u64)buf, .count = (__u64)countp, .direction = direction };
	if (bpf_map_update_elem(&tls_calls, &id, &a, BPF_ANY))
		count(HIGGS_CNT_HELPER_FAILED);
}

SEC("uprobe")
int BPF_KPROBE(higgs_ssl_write, void *ssl, const void *buf, int num)
{
	enter(ssl, (void *)buf, 0, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(higgs_ssl_write_ex, void *ssl, const void *buf, size_t num, size_t *written)
{
	enter(ssl, (void *)buf, written, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(higgs_ssl_read, void *ssl, void *buf, int num)
{
	enter(ssl, buf, 0, 1);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(higgs_ssl_read_ex, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	enter(ssl, buf, readbytes, 1);
	return 0;
}

/* The return of all four: SSL_read / SSL_write return the byte count,
 * SSL_*_ex return 1 and store it through their last argument. */
SEC("uretprobe")
int BPF_KRETPROBE(higgs_ssl_ret, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_args *a = bpf_map_lookup_elem(&tls_calls, &id);
	if (!a)
		return 0;
	struct call_args args = *a;
	bpf_map_delete_elem(&tls_calls, &id);
	if (ret <= 0)
		return 0;
	__u64 n = (__u64)ret;
	if (args.count && bpf_probe_read_user(&n, sizeof(n), (void *)args.count)) {
		count(HIGGS_CNT_HELPER_FAILED);
		return 0;
	}
	struct higgs_tls_event *e = build(args.ssl, (const void *)args.buf, n, args.direction);
	if (!e)
		return 0;
	if (args.seen) {
		set_tuple(e, &args.socket, HIGGS_TLS_TUPLE_SOCKET);
		remember(e->pid, e->ssl, &args.socket);
	} else if (args.direction == 1) {
		fallback_tuple(e, bpf_map_lookup_elem(&tls_threads, &id));
	} else {
		struct tls_conn_key k = { .ssl = e->ssl, .pid = e->pid };
		struct tls_socket *s = bpf_map_lookup_elem(&tls_conns, &k);
		if (s) {
			set_tuple(e, s, HIGGS_TLS_TUPLE_SSL);
		} else {
			flush_pending(id);
			if (!bpf_map_update_elem(&tls_pending, &id, e, BPF_ANY))
				return 0; /* held: the thread's next TCP send emits it */
			/* no room to hold it for its send: emit it now rather than lose it */
			count(HIGGS_CNT_HELPER_FAILED);
			fallback_tuple(e, 0);
		}
	}
	output(e);
	return 0;
}

/* The connection is gone: a held write is flushed, its SSL * forgotten. */
SEC("uprobe")
int BPF_KPROBE(higgs_ssl_free, void *ssl)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct higgs_tls_event *p = bpf_map_lookup_elem(&tls_pending, &id);
	if (p && p->ssl == (__u64)ssl)
		flush_pending(id);
	struct tls_conn_key k = { .ssl = (__u64)ssl, .pid = id >> 32 };
	bpf_map_delete_elem(&tls_conns, &k);
	return 0;
}

/* A TCP send or receive by the current thread on `sk`. */
static __always_inline void on_tcp(struct sock *sk, int recv)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_args *r = bpf_map_lookup_elem(&tls_calls, &id);
	if (r) {
		read_socket(sk, &r->socket);
		r->seen = 1;
	}
	if (!recv) {
		/* a held write goes out with the thread's next send, even one made
		 * inside a later SSL call (node may run SSL_read before flushing) */
		struct higgs_tls_event *p = bpf_map_lookup_elem(&tls_pending, &id);
		if (p) {
			struct tls_socket s;
			read_socket(sk, &s);
			set_tuple(p, &s, HIGGS_TLS_TUPLE_SOCKET);
			remember(p->pid, p->ssl, &s);
			output(p);
			bpf_map_delete_elem(&tls_pending, &id);
		}
		return;
	}
	if (r)
		return;
	struct tls_socket *t = bpf_map_lookup_elem(&tls_threads, &id);
	if (t)
		read_socket(sk, t);
}

/* sock:sock_send_length / sock:sock_recv_length (Linux >= 6.2) fire in the
 * caller's context after every socket send/recv (sock_sendmsg_nosec,
 * sock_recvmsg_nosec: send*, recv*, read, write, writev). BTF tracepoints,
 * not fentry or kprobes on tcp_sendmsg/tcp_recvmsg: kernels built without
 * CONFIG_KPROBES or without BPF trampolines (this CI's among them) still
 * have these. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(higgs_sock_send, struct sock *sk, int ret, int flags)
{
	if (sk->sk_protocol == IPPROTO_TCP)
		on_tcp(sk, 0);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(higgs_sock_recv, struct sock *sk, int ret, int flags)
{
	if (sk->sk_protocol == IPPROTO_TCP)
		on_tcp(sk, 1);
	return 0;
}

/* A thread ends: what it held is flushed, its per-thread state dropped (a
 * call it was inside never returns). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(higgs_thread_exit, struct task_struct *task)
{
	__u64 id = bpf_get_current_pid_tgid();
	flush_pending(id);
	bpf_map_delete_elem(&tls_calls, &id);
	bpf_map_delete_elem(&tls_threads, &id);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
