/* Maps and helpers every Higgs program carries: the event ring buffer and the
 * per-CPU counters. */
#ifndef HIGGS_COMMON_BPF_H
#define HIGGS_COMMON_BPF_H

#include "higgs.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HIGGS_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Never read: it puts struct higgs_event into the object's BTF (a ring buffer
 * carries no value type), where layout.int.test.ts checks it against the
 * TypeScript decoder. */
const volatile struct higgs_event higgs_event_btf = {};

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);
	if (v)
		*v += 1;
}

/* Reserves an event, counting a full ring buffer instead of losing it silently. */
static __always_inline struct higgs_event *reserve_event(__u32 kind)
{
	struct higgs_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(HIGGS_CNT_RINGBUF_FULL);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->kind = kind;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

#endif
