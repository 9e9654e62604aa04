/* A small N-API binding over libbpf: open -> load -> attach -> pin, map
 * operations on byte buffers, ring-buffer consumption on the libuv loop, and
 * iterator runs. Decoding, policy and metrics live in TypeScript
 * (src/native.ts); every failure here throws an Error whose `code` is the
 * errno name and whose message carries libbpf's log (the verifier log when a
 * load fails). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getcpu, CPU_*, pthread_setaffinity_np (the walker thread), setns */
#endif
#define NAPI_VERSION 8
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>
#include <pthread.h>
#include <sched.h>
#include <node_api.h>
#include <uv.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#define LOG_CAP (256 * 1024)
static char g_log[LOG_CAP];
static size_t g_log_len;

static int log_cb(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	if (g_log_len < LOG_CAP - 1) {
		int n = vsnprintf(g_log + g_log_len, LOG_CAP - g_log_len, fmt, ap);
		if (n > 0)
			g_log_len += (size_t)n < LOG_CAP - g_log_len ? (size_t)n : LOG_CAP - g_log_len - 1;
	}
	return 0;
}

static void log_reset(void) { g_log_len = 0; g_log[0] = 0; }

static napi_value throw_errno(napi_env env, const char *what, int err)
{
	if (err < 0)
		err = -err;
	char msg[LOG_CAP + 512];
	snprintf(msg, sizeof(msg), "%s: %s%s%s", what, strerror(err), g_log_len ? "\n" : "", g_log);
	const char *code = err == EPERM ? "EPERM" : err == EACCES ? "EACCES" : err == ENOENT ? "ENOENT" : err == EEXIST ? "EEXIST"
		: err == EINVAL ? "EINVAL" : err == E2BIG ? "E2BIG" : err == ENOMEM ? "ENOMEM" : err == EBUSY ? "EBUSY" : err == EOPNOTSUPP ? "EOPNOTSUPP" : "EBPF";
	napi_throw_error(env, code, msg);
	log_reset();
	return NULL;
}

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, "ENAPI", #call); return NULL; } } while (0)

static napi_value make_int(napi_env env, int64_t v) { napi_value r; napi_create_int64(env, v, &r); return r; }
static napi_value make_undefined(napi_env env) { napi_value r; napi_get_undefined(env, &r); return r; }

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
	size_t argc = want;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
		napi_throw_type_error(env, "EARGS", "missing arguments");
		return -1;
	}
	return 0;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t cap)
{
	size_t len;
	if (napi_get_value_string_utf8(env, v, buf, cap, &len) != napi_ok) {
		napi_throw_type_error(env, "EARGS", "expected a string");
		return -1;
	}
	return 0;
}

static int get_i32(napi_env env, napi_value v, int32_t *out)
{
	if (napi_get_value_int32(env, v, out) != napi_ok) {
		napi_throw_type_error(env, "EARGS", "expected a number");
		return -1;
	}
	return 0;
}

static int get_buffer(napi_env env, napi_value v, void **data, size_t *len)
{
	if (napi_get_buffer_info(env, v, data, len) != napi_ok) {
		napi_throw_type_error(env, "EARGS", "expected a Buffer");
		return -1;
	}
	return 0;
}

/* ---- objects -------------------------------------------------------- */

struct object_holder {
	struct bpf_object *obj; /* NULL once closed */
};

static void object_finalize(napi_env env, void *data, void *hint)
{
	(void)env; (void)hint;
	struct object_holder *h = data;
	/* closes the object's fds; pinned maps and links stay in the kernel */
	if (h->obj)
		bpf_object__close(h->obj);
	free(h);
}

static struct bpf_object *get_object(napi_env env, napi_value v)
{
	void *p = NULL;
	if (napi_get_value_external(env, v, &p) != napi_ok || !p || !((struct object_holder *)p)->obj) {
		napi_throw_type_error(env, "EARGS", "expected an open object handle");
		return NULL;
	}
	return ((struct object_holder *)p)->obj;
}

/* closeObject(handle): closes its program and map fds now, not at GC */
static napi_value close_object(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	void *p = NULL;
	if (get_args(env, info, 1, argv))
		return NULL;
	CHECK(napi_get_value_external(env, argv[0], &p));
	struct object_holder *h = p;
	if (h && h->obj) {
		bpf_object__close(h->obj);
		h->obj = NULL;
	}
	return make_undefined(env);
}

/* openObject(path) -> handle; nothing is loaded yet */
static napi_value open_object(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char path[4096];
	if (get_args(env, info, 1, argv) || get_string(env, argv[0], path, sizeof(path)))
		return NULL;
	log_reset();
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj)
		return throw_errno(env, "bpf_object__open_file", errno);
	struct object_holder *h = malloc(sizeof(*h));
	if (!h) {
		bpf_object__close(obj);
		return throw_errno(env, "malloc", ENOMEM);
	}
	h->obj = obj;
	napi_value ext;
	CHECK(napi_create_external(env, h, object_finalize, NULL, &ext));
	return ext;
}

/* reuseMap(handle, mapName, pinnedPath): the loaded object uses the pinned map
 * (its contents survive a program reload). */
static napi_value reuse_map(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	char name[256], path[4096];
	if (get_args(env, info, 3, argv))
		return NULL;
	struct bpf_object *obj = get_object(env, argv[0]);
	if (!obj || get_string(env, argv[1], name, sizeof(name)) || get_string(env, argv[2], path, sizeof(path)))
		return NULL;
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);
	if (!map)
		return throw_errno(env, name, ENOENT);
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return throw_errno(env, path, errno);
	int err = bpf_map__reuse_fd(map, fd);
	close(fd);
	if (err)
		return throw_errno(env, "bpf_map__reuse_fd", err);
	return make_undefined(env);
}

/* loadObject(handle): verifier runs here; its log is in the error message */
static napi_value load_object(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (get_args(env, info, 1, argv))
		return NULL;
	struct bpf_object *obj = get_object(env, argv[0]);
	if (!obj)
		return NULL;
	log_reset();
	int err = bpf_object__load(obj);
	if (err)
		return throw_errno(env, "bpf_object__load", err);
	log_reset();
	return make_undefined(env);
}

/* objectMaps(handle) -> [{ name, fd }] */
static napi_value object_maps(napi_env env, napi_callback_info info)
{
	napi_value argv[1], arr;
	if (get_args(env, info, 1, argv))
		return NULL;
	struct bpf_object *obj = get_object(env, argv[0]);
	if (!obj)
		return NULL;
	CHECK(napi_create_array(env, &arr));
	uint32_t i = 0;
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		napi_value o, s;
		CHECK(napi_create_object(env, &o));
		CHECK(napi_create_string_utf8(env, bpf_map__name(map), NAPI_AUTO_LENGTH, &s));
		CHECK(napi_set_named_property(env, o, "name", s));
		CHECK(napi_set_named_property(env, o, "fd", make_int(env, bpf_map__fd(map))));
		CHECK(napi_set_element(env, arr, i++, o));
	}
	return arr;
}

/* ---- links ---------------------------------------------------------- */

static void link_finalize(napi_env env, void *data, void *hint)
{
	(void)env; (void)hint;
	/* a pinned link outlives this fd; an unpinned one detaches here */
	struct bpf_link **slot = data;
	if (*slot)
		bpf_link__destroy(*slot);
	free(slot);
}

/* Hands a new link to JavaScript as an external that destroys it when collected
 * (a pinned link outlives that). Takes ownership: on failure the link is destroyed. */
static napi_value wrap_link(napi_env env, struct bpf_link *link)
{
	struct bpf_link **slot = malloc(sizeof(*slot));
	if (!slot) {
		bpf_link__destroy(link);
		return throw_errno(env, "malloc", ENOMEM);
	}
	*slot = link;
	napi_value ext;
	CHECK(napi_create_external(env, slot, link_finalize, NULL, &ext));
	return ext;
}

/* attach(handle, progName, cgroupPath | null) -> link.
 * With a cgroup path the program is attached (multi-attach) to that cgroup;
 * otherwise libbpf attaches it by its section (tracepoint, ...). */
static napi_value attach(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	char name[256], cgpath[4096];
	if (get_args(env, info, 3, argv))
		return NULL;
	struct bpf_object *obj = get_object(env, argv[0]);
	if (!obj || get_string(env, argv[1], name, sizeof(name)))
		return NULL;
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);
	if (!prog)
		return throw_errno(env, name, ENOENT);
	napi_valuetype t;
	CHECK(napi_typeof(env, argv[2], &t));
	log_reset();
	struct bpf_link *link;
	if (t == napi_string) {
		if (get_string(env, argv[2], cgpath, sizeof(cgpath)))
			return NULL;
		int cg = open(cgpath, O_RDONLY | O_DIRECTORY);
		if (cg < 0)
			return throw_errno(env, cgpath, errno);
		link = bpf_program__attach_cgroup(prog, cg);
		close(cg);
	} else {
		link = bpf_program__attach(prog);
	}
	if (!link)
		return throw_errno(env, "attach", errno);
	return wrap_link(env, link);
}

/* destroyLink(link): detaches an unpinned link now (a pinned one stays) */
static napi_value destroy_link(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	void *p;
	if (get_args(env, info, 1, argv))
		return NULL;
	CHECK(napi_get_value_external(env, argv[0], &p));
	struct bpf_link **slot = p;
	if (*slot) {
		bpf_link__destroy(*slot);
		*slot = NULL;
	}
	return make_undefined(env);
}

/* attachUprobe(handle, progName, binaryPath, funcName, retprobe) -> link, for
 * every process that maps the binary (uprobes are per inode). */
static napi_value attach_uprobe(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	char name[256], path[4096], func[256];
	bool retprobe;
	if (get_args(env, info, 5, argv))
		return NULL;
	struct bpf_object *obj = get_object(env, argv[0]);
	if (!obj || get_string(env, argv[1], name, sizeof(name)) || get_string(env, argv[2], path, sizeof(path)) ||
	    get_string(env, argv[3], func, sizeof(func)))
		return NULL;
	CHECK(napi_get_value_bool(env, argv[4], &retprobe));
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);
	if (!prog)
		return throw_errno(env, name, ENOENT);
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = func, .retprobe = retprobe);
	log_reset();
	struct bpf_link *link = bpf_program__attach_uprobe_opts(prog, -1, path, 0, &opts);
	if (!link)
		return throw_errno(env, "bpf_program__attach_uprobe_opts", errno);
	return wrap_link(env, link);
}

/* pinLink(link, path) */
static napi_value pin_link(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	char path[4096];
	void *p;
	if (get_args(env, info, 2, argv) || get_string(env, argv[1], path, sizeof(path)))
		return NULL;
	CHECK(napi_get_value_external(env, argv[0], &p));
	if (!*(struct bpf_link **)p)
		return throw_errno(env, "pinLink", EBADF);
	int err = bpf_link__pin(*(struct bpf_link **)p, path);
	if (err)
		return throw_errno(env, path, err);
	return make_undefined(env);
}

/* detachPinnedLink(path): detach whatever link is pinned there, then unpin */
static napi_value detach_pinned_link(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char path[4096];
	if (get_args(env, info, 1, argv) || get_string(env, argv[0], path, sizeof(path)))
		return NULL;
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return throw_errno(env, path, errno);
	int err = bpf_link_detach(fd);
	close(fd);
	if (err && errno != EOPNOTSUPP)
		return throw_errno(env, "bpf_link_detach", errno);
	if (unlink(path))
		return throw_errno(env, path, errno);
	return make_undefined(env);
}

/* ---- fds, pins, maps ------------------------------------------------- */

/* objGet(path) -> fd of a pinned map, link or program */
static napi_value obj_get(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char path[4096];
	if (get_args(env, info, 1, argv) || get_string(env, argv[0], path, sizeof(path)))
		return NULL;
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return throw_errno(env, path, errno);
	return make_int(env, fd);
}

/* objPin(fd, path) */
static napi_value obj_pin(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	char path[4096];
	int32_t fd;
	if (get_args(env, info, 2, argv) || get_i32(env, argv[0], &fd) || get_string(env, argv[1], path, sizeof(path)))
		return NULL;
	if (bpf_obj_pin(fd, path))
		return throw_errno(env, path, errno);
	return make_undefined(env);
}

/* dupFd(fd) -> fd: a map fd that outlives the object it came from */
static napi_value dup_fd(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t fd;
	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &fd))
		return NULL;
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return throw_errno(env, "dup", errno);
	return make_int(env, nfd);
}

static napi_value close_fd(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t fd;
	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &fd))
		return NULL;
	close(fd);
	return make_undefined(env);
}

/* mapInfo(fd) -> { type, keySize, valueSize, maxEntries, name, id } */
static napi_value map_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], o, s;
	int32_t fd;
	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &fd))
		return NULL;
	struct bpf_map_info mi;
	__u32 len = sizeof(mi);
	memset(&mi, 0, sizeof(mi));
	if (bpf_obj_get_info_by_fd(fd, &mi, &len))
		return throw_errno(env, "bpf_obj_get_info_by_fd", errno);
	CHECK(napi_create_object(env, &o));
	CHECK(napi_set_named_property(env, o, "type", make_int(env, mi.type)));
	CHECK(napi_set_named_property(env, o, "keySize", make_int(env, mi.key_size)));
	CHECK(napi_set_named_property(env, o, "valueSize", make_int(env, mi.value_size)));
	CHECK(napi_set_named_property(env, o, "maxEntries", make_int(env, mi.max_entries)));
	CHECK(napi_set_named_property(env, o, "id", make_int(env, mi.id)));
	CHECK(napi_create_string_utf8(env, mi.name, NAPI_AUTO_LENGTH, &s));
	CHECK(napi_set_named_property(env, o, "name", s));
	return o;
}

/* mapLookup(fd, key, valueBytes) -> Buffer | null */
static napi_value map_lookup(napi_env env, napi_callback_info info)
{
	napi_value argv[3], out;
	int32_t fd, vlen;
	void *key, *val;
	size_t klen;
	if (get_args(env, info, 3, argv) || get_i32(env, argv[0], &fd) || get_buffer(env, argv[1], &key, &klen) || get_i32(env, argv[2], &vlen))
		return NULL;
	CHECK(napi_create_buffer(env, (size_t)vlen, &val, &out));
	if (bpf_map_lookup_elem(fd, key, val)) {
		if (errno == ENOENT) {
			napi_value n;
			napi_get_null(env, &n);
			return n;
		}
		return throw_errno(env, "bpf_map_lookup_elem", errno);
	}
	return out;
}

/* mapUpdate(fd, key, value, flags) */
static napi_value map_update(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	int32_t fd, flags;
	void *key, *val;
	size_t klen, vlen;
	if (get_args(env, info, 4, argv) || get_i32(env, argv[0], &fd) || get_buffer(env, argv[1], &key, &klen) || get_buffer(env, argv[2], &val, &vlen) || get_i32(env, argv[3], &flags))
		return NULL;
	if (bpf_map_update_elem(fd, key, val, (__u64)flags))
		return throw_errno(env, "bpf_map_update_elem", errno);
	return make_undefined(env);
}

/* mapDelete(fd, key) -> boolean (false when the key was absent) */
static napi_value map_delete(napi_env env, napi_callback_info info)
{
	napi_value argv[2], r;
	int32_t fd;
	void *key;
	size_t klen;
	if (get_args(env, info, 2, argv) || get_i32(env, argv[0], &fd) || get_buffer(env, argv[1], &key, &klen))
		return NULL;
	if (bpf_map_delete_elem(fd, key)) {
		if (errno != ENOENT)
			return throw_errno(env, "bpf_map_delete_elem", errno);
		napi_get_boolean(env, false, &r);
		return r;
	}
	napi_get_boolean(env, true, &r);
	return r;
}

/* mapNextKey(fd, key | null, keyBytes) -> Buffer | null (end) */
static napi_value map_next_key(napi_env env, napi_callback_info info)
{
	napi_value argv[3], out;
	int32_t fd, klen;
	void *key = NULL, *next;
	size_t len;
	napi_valuetype t;
	if (get_args(env, info, 3, argv) || get_i32(env, argv[0], &fd) || get_i32(env, argv[2], &klen))
		return NULL;
	CHECK(napi_typeof(env, argv[1], &t));
	if (t != napi_null && get_buffer(env, argv[1], &key, &len))
		return NULL;
	CHECK(napi_create_buffer(env, (size_t)klen, &next, &out));
	if (bpf_map_get_next_key(fd, key, next)) {
		if (errno == ENOENT) {
			napi_value n;
			napi_get_null(env, &n);
			return n;
		}
		return throw_errno(env, "bpf_map_get_next_key", errno);
	}
	return out;
}

static napi_value possible_cpus(napi_env env, napi_callback_info info)
{
	(void)info;
	int n = libbpf_num_possible_cpus();
	if (n < 0)
		return throw_errno(env, "libbpf_num_possible_cpus", n);
	return make_int(env, n);
}

/* ---- ring buffers ----------------------------------------------------- */

struct ringbuf {
	napi_env env;
	napi_ref callback;
	struct ring_buffer *rb;
	uv_poll_t poll;
	napi_value batch; /* valid only inside on_readable */
	uint32_t batch_len;
	int closed;
};

static int on_sample(void *ctx, void *data, size_t size)
{
	struct ringbuf *r = ctx;
	napi_value buf;
	if (napi_create_buffer_copy(r->env, size, data, NULL, &buf) == napi_ok)
		napi_set_element(r->env, r->batch, r->batch_len++, buf);
	return 0;
}

static void on_readable(uv_poll_t *handle, int status, int events)
{
	(void)events;
	struct ringbuf *r = handle->data;
	if (status < 0 || r->closed)
		return;
	napi_handle_scope scope;
	napi_open_handle_scope(r->env, &scope);
	napi_create_array(r->env, &r->batch);
	r->batch_len = 0;
	ring_buffer__consume(r->rb);
	if (r->batch_len > 0) {
		napi_value cb, global, result;
		napi_get_reference_value(r->env, r->callback, &cb);
		napi_get_global(r->env, &global);
		napi_make_callback(r->env, NULL, global, cb, 1, &r->batch, &result);
	}
	napi_close_handle_scope(r->env, scope);
}

static void on_poll_closed(uv_handle_t *h)
{
	struct ringbuf *r = h->data;
	ring_buffer__free(r->rb);
	free(r);
}

static void ringbuf_stop(struct ringbuf *r)
{
	if (r->closed)
		return;
	r->closed = 1;
	uv_poll_stop(&r->poll);
	napi_delete_reference(r->env, r->callback);
	uv_close((uv_handle_t *)&r->poll, on_poll_closed);
}

/* ringbufOpen(mapFd, callback(records: Buffer[])) -> handle. Records are
 * delivered on the event loop as soon as the kernel wakes the epoll fd. */
static napi_value ringbuf_open(napi_env env, napi_callback_info info)
{
	napi_value argv[2], ext;
	int32_t fd;
	if (get_args(env, info, 2, argv) || get_i32(env, argv[0], &fd))
		return NULL;
	struct ringbuf *r = calloc(1, sizeof(*r));
	if (!r)
		return throw_errno(env, "calloc", ENOMEM);
	r->env = env;
	log_reset();
	r->rb = ring_buffer__new(fd, on_sample, r, NULL);
	if (!r->rb) {
		int err = errno;
		free(r);
		return throw_errno(env, "ring_buffer__new", err);
	}
	uv_loop_t *loop;
	napi_get_uv_event_loop(env, &loop);
	if (uv_poll_init(loop, &r->poll, ring_buffer__epoll_fd(r->rb))) {
		ring_buffer__free(r->rb);
		free(r);
		return throw_errno(env, "uv_poll_init", EINVAL);
	}
	r->poll.data = r;
	CHECK(napi_create_reference(env, argv[1], 1, &r->callback));
	uv_poll_start(&r->poll, UV_READABLE, on_readable);
	CHECK(napi_create_external(env, r, NULL, NULL, &ext));
	return ext;
}

static napi_value ringbuf_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	void *p;
	if (get_args(env, info, 1, argv))
		return NULL;
	CHECK(napi_get_value_external(env, argv[0], &p));
	ringbuf_stop(p);
	return make_undefined(env);
}

/* ---- iterators -------------------------------------------------------- */

/* attachIter(handle, progName) -> link: an iterator link, created once and
 * run many times with iterRun (creating the link is the costly part). */
static napi_value attach_iter(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	char name[256];
	if (get_args(env, info, 2, argv))
		return NULL;
	struct bpf_object *obj = get_object(env, argv[0]);
	if (!obj || get_string(env, argv[1], name, sizeof(name)))
		return NULL;
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);
	if (!prog)
		return throw_errno(env, name, ENOENT);
	log_reset();
	struct bpf_link *link = bpf_program__attach_iter(prog, NULL);
	if (!link)
		return throw_errno(env, "bpf_program__attach_iter", errno);
	return wrap_link(env, link);
}

/* Reads an iterator fd to its end into a malloc'd buffer (*out, *out_len).
 * Returns 0 or an errno; the fd stays open. Runs on the JS thread (iterRun)
 * or on a libuv worker (iterRunAsync): it touches no N-API state. */
static int iter_read_all(int fd, char **out, size_t *out_len)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return ENOMEM;
	for (;;) {
		if (len == cap) {
			char *grown = realloc(buf, cap * 2);
			if (!grown) {
				free(buf);
				return ENOMEM;
			}
			buf = grown;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = errno;
			free(buf);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

struct netns_iter {
	int ns_fd, link_fd;
	int fd, err;
};

/* On a thread of its own: joins the network namespace and creates the
 * iterator there (an iter/tcp walks the TCP hash of the namespace its fd was
 * created in). The thread's namespace dies with it, so no other thread of the
 * process, the event loop's above all, ever runs in the workload's namespace. */
static void *netns_iter_main(void *arg)
{
	struct netns_iter *job = arg;
	if (setns(job->ns_fd, CLONE_NEWNET) != 0) {
		job->err = errno;
		return NULL;
	}
	job->fd = bpf_iter_create(job->link_fd);
	if (job->fd < 0)
		job->err = errno;
	return NULL;
}

/* A new iterator fd for one pass. Created before the pass (here, on the JS
 * thread, or for a network namespace on a short-lived thread joined here): the
 * fd holds its own reference to the link's program, so destroyLink during a
 * pass is safe. `netns`: undefined, or the path of a network namespace file
 * (/proc/PID/ns/net, /run/netns/NAME) whose TCP hash the pass walks instead of
 * the caller's. */
static int iter_create(napi_env env, napi_value handle, napi_value netns, int *fd)
{
	void *p;
	if (napi_get_value_external(env, handle, &p) != napi_ok || !p) {
		napi_throw_type_error(env, "EARGS", "expected an iterator link");
		return -1;
	}
	struct bpf_link *link = *(struct bpf_link **)p;
	if (!link) {
		throw_errno(env, "iterRun", EBADF);
		return -1;
	}
	napi_valuetype type = napi_undefined;
	if (netns && napi_typeof(env, netns, &type) != napi_ok)
		type = napi_undefined;
	if (type == napi_undefined || type == napi_null) {
		*fd = bpf_iter_create(bpf_link__fd(link));
		if (*fd < 0) {
			throw_errno(env, "bpf_iter_create", errno);
			return -1;
		}
		return 0;
	}
	char path[4096];
	if (get_string(env, netns, path, sizeof(path)))
		return -1;
	struct netns_iter job = { .ns_fd = open(path, O_RDONLY | O_CLOEXEC), .link_fd = bpf_link__fd(link), .fd = -1, .err = 0 };
	if (job.ns_fd < 0) {
		throw_errno(env, "open network namespace", errno);
		return -1;
	}
	pthread_t thread;
	int err = pthread_create(&thread, NULL, netns_iter_main, &job);
	if (err == 0)
		pthread_join(thread, NULL);
	else
		job.err = err;
	close(job.ns_fd);
	if (job.err) {
		if (job.fd >= 0)
			close(job.fd);
		throw_errno(env, "bpf_iter_create in a network namespace", job.err);
		return -1;
	}
	*fd = job.fd;
	return 0;
}

/* The optional second argument of iterRun / iterRunAsync: a network namespace path, or NULL. */
static napi_value iter_netns_arg(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2)
		return NULL;
	return argv[1];
}

/* iterRun(iterLink, netns?) -> Buffer: one pass of the iterator (the program runs once
 * per object), everything it wrote with bpf_seq_write. Blocks the JS thread for
 * the whole pass; iterRunAsync does not. */
static napi_value iter_run(napi_env env, napi_callback_info info)
{
	napi_value argv[1], out;
	int fd;
	if (get_args(env, info, 1, argv) || iter_create(env, argv[0], iter_netns_arg(env, info), &fd))
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	int err = iter_read_all(fd, &buf, &len);
	close(fd);
	if (err)
		return throw_errno(env, "read iter", err);
	void *data;
	napi_status st = napi_create_buffer_copy(env, len, buf, &data, &out);
	free(buf);
	if (st != napi_ok) {
		napi_throw_error(env, "ENAPI", "buffer");
		return NULL;
	}
	return out;
}

struct iter_job {
	struct iter_job *next;
	napi_deferred deferred;
	int fd;
	int err;
	char *buf;
	size_t len;
	/* CLOCK_MONOTONIC, the clock of process.hrtime.bigint(): when the worker
	 * began and ended the pass, so a caller can tell queueing from the walk */
	uint64_t start_ns, end_ns;
	int realtime;
};

/* One thread per JavaScript environment walks the iterators, in order. It is
 * not the libuv pool: there a kill would queue behind file and DNS work, and a
 * pool thread waking on a loaded 2-core machine waited 9 ms (p50) to run.
 * It runs at normal priority. With HIGGS_KILL_WALKER_RT=1 it asks for
 * SCHED_FIFO at the lowest real-time priority, so no normal task preempts the
 * walk — but then the walk preempts whatever runs on its CPU for ~2 ms, the
 * workloads and the client being killed included: on 2 cores that moved the
 * proxy-reset kill's p50 from 0.6 to 2.9 ms, so it is off by default. Where it
 * is refused (no CAP_SYS_NICE, an RT-throttled cgroup) the thread stays normal;
 * each pass says which it ran as (`realtime`). */
struct iter_worker {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct iter_job *head, *tail;
	int stop;
	int realtime;
	pthread_t thread;
	cpu_set_t allowed; /* the process's CPUs when the thread started */
	int away_from;     /* JS thread only: the CPU the walker was last kept off, -1 none */
	napi_threadsafe_function done;
	uint32_t in_flight; /* JS thread only: the loop is kept alive while > 0 */
};

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void iter_job_free(struct iter_job *job)
{
	if (job->fd >= 0)
		close(job->fd);
	free(job->buf);
	free(job);
}

static void *iter_worker_main(void *arg)
{
	struct iter_worker *w = arg;
	struct sched_param sp = { .sched_priority = sched_get_priority_min(SCHED_FIFO) };
	const char *rt = getenv("HIGGS_KILL_WALKER_RT");
	int realtime = rt && strcmp(rt, "1") == 0 && pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
	pthread_mutex_lock(&w->lock);
	w->realtime = realtime;
	for (;;) {
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		struct iter_job *job = w->head;
		if (!job)
			break; /* stop, and nothing left */
		w->head = job->next;
		if (!w->head)
			w->tail = NULL;
		pthread_mutex_unlock(&w->lock);
		job->realtime = realtime;
		job->start_ns = monotonic_ns();
		job->err = iter_read_all(job->fd, &job->buf, &job->len);
		job->end_ns = monotonic_ns();
		close(job->fd);
		job->fd = -1;
		/* the environment is going away: nobody is left to resolve the promise */
		if (napi_call_threadsafe_function(w->done, job, napi_tsfn_nonblocking) != napi_ok)
			iter_job_free(job);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static napi_value errno_error(napi_env env, const char *what, int err)
{
	napi_value code, msg, error;
	const char *name = err == EPERM ? "EPERM" : err == EACCES ? "EACCES" : err == ENOENT ? "ENOENT" : err == EINVAL ? "EINVAL"
		: err == E2BIG ? "E2BIG" : err == ENOMEM ? "ENOMEM" : err == EAGAIN ? "EAGAIN" : "EBPF";
	char text[512];
	snprintf(text, sizeof(text), "%s: %s", what, strerror(err));
	if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
	    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
	    napi_create_error(env, code, msg, &error) != napi_ok)
		return NULL;
	return error;
}

/* On the JS thread: settles the promise of a finished pass. */
static void iter_job_done(napi_env env, napi_value js_cb, void *context, void *data)
{
	(void)js_cb;
	struct iter_worker *w = context;
	struct iter_job *job = data;
	if (!env) { /* the function is being torn down */
		iter_job_free(job);
		return;
	}
	napi_value result = NULL, records, start, end, rt;
	void *copy;
	if (job->err == 0 &&
	    napi_create_buffer_copy(env, job->len, job->buf, &copy, &records) == napi_ok &&
	    napi_create_bigint_uint64(env, job->start_ns, &start) == napi_ok &&
	    napi_create_bigint_uint64(env, job->end_ns, &end) == napi_ok &&
	    napi_get_boolean(env, job->realtime, &rt) == napi_ok &&
	    napi_create_object(env, &result) == napi_ok &&
	    napi_set_named_property(env, result, "records", records) == napi_ok &&
	    napi_set_named_property(env, result, "startNs", start) == napi_ok &&
	    napi_set_named_property(env, result, "endNs", end) == napi_ok &&
	    napi_set_named_property(env, result, "realtime", rt) == napi_ok) {
		napi_resolve_deferred(env, job->deferred, result);
	} else {
		napi_value error = errno_error(env, "read iter", job->err ? job->err : ENOMEM);
		if (!error)
			napi_get_undefined(env, &error);
		napi_reject_deferred(env, job->deferred, error);
	}
	iter_job_free(job);
	if (--w->in_flight == 0)
		napi_unref_threadsafe_function(env, w->done);
}

/* Environment teardown: the thread finishes the pass it is in and exits. */
static void iter_worker_finalize(napi_env env, void *data, void *hint)
{
	(void)env; (void)hint;
	struct iter_worker *w = data;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	for (struct iter_job *j = w->head, *n; j; j = n) {
		n = j->next;
		iter_job_free(j);
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
}

/* This environment's walker thread, started on first use. */
static struct iter_worker *iter_worker_get(napi_env env)
{
	struct iter_worker *w = NULL;
	if (napi_get_instance_data(env, (void **)&w) == napi_ok && w)
		return w;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	napi_value name;
	if (napi_create_string_utf8(env, "higgs_bpf.iterRunAsync", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, w, iter_job_done, &w->done) != napi_ok) {
		free(w);
		return NULL;
	}
	napi_unref_threadsafe_function(env, w->done);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->away_from = -1;
	if (sched_getaffinity(0, sizeof(w->allowed), &w->allowed))
		CPU_ZERO(&w->allowed);
	if (pthread_create(&w->thread, NULL, iter_worker_main, w) != 0) {
		napi_release_threadsafe_function(w->done, napi_tsfn_abort);
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->wake);
		free(w);
		return NULL;
	}
	if (napi_set_instance_data(env, w, iter_worker_finalize, NULL) != napi_ok) {
		iter_worker_finalize(env, w, NULL);
		return NULL;
	}
	return w;
}

/* A real-time walker woken on the event loop's CPU would preempt the loop for
 * the whole walk: keep it on the other CPUs the process may use (none other:
 * it shares the one there is). */
static void iter_worker_keep_off(struct iter_worker *w, int cpu)
{
	if (cpu < 0 || cpu == w->away_from || !CPU_ISSET(cpu, &w->allowed) || CPU_COUNT(&w->allowed) < 2)
		return;
	cpu_set_t set = w->allowed;
	CPU_CLR(cpu, &set);
	if (pthread_setaffinity_np(w->thread, sizeof(set), &set) == 0)
		w->away_from = cpu;
}

/* iterRunAsync(iterLink, netns?) -> Promise<{ records, startNs, endNs, realtime }>: one
 * pass like iterRun, read on this environment's walker thread so the event
 * loop keeps running during the walk (2 ms over a 262 144-bucket TCP hash).
 * The iterator fd is created before this returns, on this thread. Passes run
 * one after another, in call order. */
static napi_value iter_run_async(napi_env env, napi_callback_info info)
{
	napi_value argv[1], promise;
	int fd;
	if (get_args(env, info, 1, argv))
		return NULL;
	struct iter_worker *w = iter_worker_get(env);
	if (!w)
		return throw_errno(env, "iterRunAsync: walker thread", ENOMEM);
	if (iter_create(env, argv[0], iter_netns_arg(env, info), &fd))
		return NULL;
	struct iter_job *job = calloc(1, sizeof(*job));
	if (!job) {
		close(fd);
		return throw_errno(env, "calloc", ENOMEM);
	}
	job->fd = fd;
	if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
		iter_job_free(job);
		napi_throw_error(env, "ENAPI", "napi_create_promise");
		return NULL;
	}
	if (w->in_flight++ == 0)
		napi_ref_threadsafe_function(env, w->done);
	iter_worker_keep_off(w, sched_getcpu());
	pthread_mutex_lock(&w->lock);
	if (w->tail)
		w->tail->next = job;
	else
		w->head = job;
	w->tail = job;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return promise;
}

static napi_value libbpf_version(napi_env env, napi_callback_info info)
{
	(void)info;
	napi_value s;
	napi_create_string_utf8(env, libbpf_version_string(), NAPI_AUTO_LENGTH, &s);
	return s;
}

NAPI_MODULE_INIT()
{
	libbpf_set_print(log_cb);
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	napi_property_descriptor props[] = {
		{ "openObject", NULL, open_object, NULL, NULL, NULL, napi_default, NULL },
		{ "closeObject", NULL, close_object, NULL, NULL, NULL, napi_default, NULL },
		{ "reuseMap", NULL, reuse_map, NULL, NULL, NULL, napi_default, NULL },
		{ "loadObject", NULL, load_object, NULL, NULL, NULL, napi_default, NULL },
		{ "objectMaps", NULL, object_maps, NULL, NULL, NULL, napi_default, NULL },
		{ "attach", NULL, attach, NULL, NULL, NULL, napi_default, NULL },
		{ "attachUprobe", NULL, attach_uprobe, NULL, NULL, NULL, napi_default, NULL },
		{ "destroyLink", NULL, destroy_link, NULL, NULL, NULL, napi_default, NULL },
		{ "pinLink", NULL, pin_link, NULL, NULL, NULL, napi_default, NULL },
		{ "detachPinnedLink", NULL, detach_pinned_link, NULL, NULL, NULL, napi_default, NULL },
		{ "objGet", NULL, obj_get, NULL, NULL, NULL, napi_default, NULL },
		{ "objPin", NULL, obj_pin, NULL, NULL, NULL, napi_default, NULL },
		{ "dupFd", NULL, dup_fd, NULL, NULL, NULL, napi_default, NULL },
		{ "closeFd", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL },
		{ "mapInfo", NULL, map_info, NULL, NULL, NULL, napi_default, NULL },
		{ "mapLookup", NULL, map_lookup, NULL, NULL, NULL, napi_default, NULL },
		{ "mapUpdate", NULL, map_update, NULL, NULL, NULL, napi_default, NULL },
		{ "mapDelete", NULL, map_delete, NULL, NULL, NULL, napi_default, NULL },
		{ "mapNextKey", NULL, map_next_key, NULL, NULL, NULL, napi_default, NULL },
		{ "possibleCpus", NULL, possible_cpus, NULL, NULL, NULL, napi_default, NULL },
		{ "ringbufOpen", NULL, ringbuf_open, NULL, NULL, NULL, napi_default, NULL },
		{ "ringbufClose", NULL, ringbuf_close, NULL, NULL, NULL, napi_default, NULL },
		{ "attachIter", NULL, attach_iter, NULL, NULL, NULL, napi_default, NULL },
		{ "iterRun", NULL, iter_run, NULL, NULL, NULL, napi_default, NULL },
		{ "iterRunAsync", NULL, iter_run_async, NULL, NULL, NULL, napi_default, NULL },
		{ "libbpfVersion", NULL, libbpf_version, NULL, NULL, NULL, napi_default, NULL },
	};
	napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
	return exports;
}
