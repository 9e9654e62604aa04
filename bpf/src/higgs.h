/* Structs shared by the BPF programs and the TypeScript decoders in
 * src/layout.ts. A change here must change layout.ts too: layout.int.test.ts
 * checks both against the compiled object's BTF. */
#ifndef HIGGS_H
#define HIGGS_H

#define HIGGS_COMM_LEN 16

/* LPM trie keys: prefix length in bits, then the address in network order. */
struct higgs_lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct higgs_lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Value of the quarantine map (key: cgroup v2 id). */
struct higgs_quarantine {
	__u64 since_ns; /* bpf_ktime_get_ns() clock, set by the loader */
	__u64 denied;   /* connects refused so far, updated by connect4/6 */
};

/* Where redirected connections go (array map of one entry, set by the loader).
 * A connection to a provider on port 443 goes to tls_port, any other to
 * plain_port; the proxy routes by SNI / Host. */
struct higgs_redirect_target {
	__u8 addr4[4];     /* proxy IPv4, network order */
	__u8 addr6[16];    /* proxy IPv6, network order (all zero: v6 not redirected) */
	__u16 tls_port;    /* host order; 0 = redirect disabled */
	__u16 plain_port;  /* host order */
	__u64 proxy_cgroup; /* never redirected: the proxy's own connections */
};

/* The client end of a redirected connection, as the proxy sees its peer
 * (key of `redirect_origin`). */
struct higgs_redirect_client {
	__u16 family;   /* AF_INET or AF_INET6 */
	__u16 port;     /* host order */
	__u8 pad[4];
	__u8 addr[16];  /* network order, v4 in the first 4 bytes */
};

/* Where a redirected connection was going before connect4/6 rewrote it. */
struct higgs_redirect_origin {
	__u16 family;
	__u16 port;     /* host order */
	__u32 pid;      /* the connecting process */
	__u8 addr[16];  /* network order, v4 in the first 4 bytes */
	__u64 cgroup_id;
};

enum higgs_event_kind {
	HIGGS_EV_FLOW = 1,           /* TCP state change (flow tracing) */
	HIGGS_EV_CONNECT_DENIED = 2, /* a quarantined cgroup's connect refused */
};

/* One ring-buffer record; both programs emit the same shape. */
struct higgs_event {
	__u64 ts_ns;
	__u64 cgroup_id;
	__u32 kind;
	__u32 pid;
	__u32 tid;
	__u16 family; /* AF_INET or AF_INET6 */
	__u16 sport;  /* host order */
	__u16 dport;  /* host order */
	__u8 oldstate;
	__u8 newstate;
	__u8 saddr[16]; /* v4 in the first 4 bytes */
	__u8 daddr[16];
	char comm[HIGGS_COMM_LEN];
};

/* A TCP socket as its own side sees it; key of the session-kill target map. */
struct higgs_sock_key {
	__u16 family;
	__u16 lport; /* host order */
	__u16 rport; /* host order */
	__u16 pad;
	__u8 laddr[16]; /* v4 in the first 4 bytes */
	__u8 raddr[16];
};

/* What the session-kill iterator reports per matched socket (bpf_seq_write). */
struct higgs_kill_record {
	struct higgs_sock_key key;
	__s32 err;     /* bpf_sock_destroy() result: 0 or -errno */
	__u32 state;   /* TCP state before the kill */
	__u64 cookie;  /* socket cookie */
};

/* Plaintext seen by the TLS uprobes; the ring-buffer record is the header
 * plus `captured` bytes of data (at most HIGGS_TLS_MAX). */
#define HIGGS_TLS_MAX 4096

/* How a TLS record's socket tuple was found (tls.bpf.c explains each). */
enum higgs_tls_tuple_source {
	HIGGS_TLS_TUPLE_NONE = 0,   /* not found: `sock` is all zero, counted in tls_tuple_missing */
	HIGGS_TLS_TUPLE_SOCKET = 1, /* the TCP send/recv that moved this call's bytes, on the same thread */
	HIGGS_TLS_TUPLE_SSL = 2,    /* remembered for this SSL * from an earlier record of it */
	HIGGS_TLS_TUPLE_THREAD = 3, /* the thread's last TCP recv before this SSL_read (memory-BIO stacks) */
};

struct higgs_tls_event {
	__u64 ts_ns;
	__u64 cgroup_id;
	__u64 ssl;       /* the SSL * of the connection: one id per TLS session */
	__u32 pid;
	__u32 tid;
	__u32 len;       /* bytes the call transferred */
	__u32 captured;  /* bytes in data */
	__u8 direction;  /* 0 = SSL_write*, 1 = SSL_read* */
	__u8 tuple;      /* enum higgs_tls_tuple_source */
	__u8 pad[6];
	char comm[HIGGS_COMM_LEN];
	/* the TCP connection as the calling process sees it: laddr/lport its own end */
	struct higgs_sock_key sock;
	__u64 cookie;    /* socket cookie (bpf_get_socket_cookie); 0 when no tuple */
	__u8 data[HIGGS_TLS_MAX];
};

/* Per-CPU counters: nothing is dropped silently (STYLE.md). */
enum higgs_counter {
	HIGGS_CNT_RINGBUF_FULL = 0,
	HIGGS_CNT_CONNECT_DENIED = 1,
	HIGGS_CNT_EGRESS_DROPPED = 2,
	HIGGS_CNT_FLOW_EVENTS = 3,
	HIGGS_CNT_HELPER_FAILED = 4,
	HIGGS_CNT_SOCKETS_DESTROYED = 5,
	HIGGS_CNT_CONNECT_REDIRECTED = 6,
	HIGGS_CNT_MAX = 7,
};

#endif
