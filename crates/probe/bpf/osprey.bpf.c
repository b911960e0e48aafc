// SPDX-License-Identifier: GPL-2.0
/*
 * Osprey's eBPF driver: syscall and process-exit capture.
 *
 * Every event is built in a per-CPU scratch buffer in Osprey's v2 event layout
 * (the capture-file layout: 26-byte header ts/tid/len/type/nparams, one u16
 * length per parameter, then the parameter values) and copied with
 * BPF_RB_NO_WAKEUP into ring "ringN", N = (CPU number >> ring_shift) mod 8:
 * each group of 2^ring_shift CPUs shares a ring; userspace polls the rings on
 * a timer and merges them in timestamp order. Each ring record is a u16 CPU number
 * followed by one event.
 *
 * Syscalls are captured exit-only, from sys_exit alone: on x86_64 the user
 * registers, which hold the arguments, are intact in pt_regs when a syscall
 * returns, so one event carries both the arguments and the result. The only
 * argument gone by then is execve's path (the new image replaced the memory
 * holding it): sched_process_exec saves it from the binprm. The "sc" map
 * says, per syscall number, whether to emit it at all (kernel-side
 * selection) and its PPM_SC code; syscalls without a decoder of their own
 * become a generic event (type 1).
 *
 * Rebuild with `cargo xtask bpf` (the committed osprey.bpf.o is what the
 * crate embeds; a test checks the two agree).
 */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* Event types (osprey_event::table::EVENTS). */
#define EV_GENERIC_X 1
#define EV_OPEN_X 3
#define EV_CLOSE_X 5
#define EV_READ_X 7
#define EV_WRITE_X 9
#define EV_CONNECT_X 23
#define EV_CREAT_X 59
#define EV_PROCEXIT_1_E 186
#define EV_CLONE_20_X 223
#define EV_FORK_20_X 225
#define EV_VFORK_20_X 227
#define EV_EXECVE_19_X 293
#define EV_OPENAT_2_X 307
#define EV_OPENAT2_X 327
#define EV_CLONE3_X 335

/* x86_64 syscall numbers. */
#define NR_read 0
#define NR_write 1
#define NR_open 2
#define NR_close 3
#define NR_connect 42
#define NR_clone 56
#define NR_fork 57
#define NR_vfork 58
#define NR_execve 59
#define NR_creat 85
#define NR_openat 257
#define NR_clone3 435
#define NR_openat2 437

#define PREFIX 2	/* u16 cpu before the event */
#define HDR 26
#define HALF 16384	/* variable parts start below HALF ... */
#define MAX_PART 8192	/* ... and are at most MAX_PART long */
#define SCRATCH 32768
#define TMP_OFF 28672	/* scratch area for raw sockaddrs, past HALF + MAX_PART */
#define PATH_MAX 4096
#define ARGS_MAX 4096
#define MAX_PARAMS 32
#define SC_IDS 512

struct config {
	u32 snaplen;
	u32 exclude_tgid;
	u64 boot_to_epoch_ns;
	u32 ring_shift;	/* ring = (CPU >> ring_shift) mod 8 */
	u32 pad;
};

struct stash {
	u64 a[6];
};

/* Per syscall number: its PPM_SC code, and whether to emit it. */
struct sc_info {
	u16 ppm;
	u16 emit;
};

struct ringbuf_map {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
};

struct scratch {
	u8 b[SCRATCH];
};

struct ringbuf_map ring0 SEC(".maps"), ring1 SEC(".maps"), ring2 SEC(".maps"),
	ring3 SEC(".maps"), ring4 SEC(".maps"), ring5 SEC(".maps"),
	ring6 SEC(".maps"), ring7 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SC_IDS);
	__type(key, u32);
	__type(value, struct sc_info);
} sc_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, u32);
	__type(value, char[PATH_MAX]);
} exec_fn SEC(".maps");

/* Writer state: the scratch buffer, the next value offset, params so far. */
struct w {
	u8 *buf;
	u32 off;
	u32 n;
	u32 ring;
};

static __always_inline struct config *get_config(void)
{
	u32 zero = 0;
	return bpf_map_lookup_elem(&config, &zero);
}

static __always_inline bool excluded(struct config *c)
{
	return (u32)(bpf_get_current_pid_tgid() >> 32) == c->exclude_tgid;
}

static __always_inline struct scratch *ev_begin(struct w *w, struct config *c, u16 type, u32 np)
{
	u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	w->buf = s->b;
	w->n = 0;
	w->off = PREFIX + HDR + 2 * np;
	u32 cpu = bpf_get_smp_processor_id();
	w->ring = (cpu >> (c->ring_shift & 31)) & 7;
	*(u16 *)&s->b[0] = (u16)cpu;
	*(u64 *)&s->b[PREFIX + 0] = bpf_ktime_get_boot_ns() + c->boot_to_epoch_ns;
	*(u64 *)&s->b[PREFIX + 8] = (u32)bpf_get_current_pid_tgid();
	*(u16 *)&s->b[PREFIX + 20] = type;
	*(u32 *)&s->b[PREFIX + 22] = np;
	return s;
}

static __always_inline void set_len(struct w *w, u32 len)
{
	u32 i = w->n;
	if (i >= MAX_PARAMS)
		return;
	*(u16 *)&w->buf[PREFIX + HDR + 2 * i] = (u16)len;
	w->n = i + 1;
	w->off += len;
}

static __always_inline void ev_submit(struct w *w)
{
	u32 len = w->off;
	u32 zero = 0;
	if (len >= SCRATCH)
		return;
	/* A mask the verifier can see bounds the size on every path. */
	len &= SCRATCH - 1;

	long err;
	*(u32 *)&w->buf[PREFIX + 16] = len - PREFIX;
	switch (w->ring) {
	case 0: err = bpf_ringbuf_output(&ring0, w->buf, len, BPF_RB_NO_WAKEUP); break;
	case 1: err = bpf_ringbuf_output(&ring1, w->buf, len, BPF_RB_NO_WAKEUP); break;
	case 2: err = bpf_ringbuf_output(&ring2, w->buf, len, BPF_RB_NO_WAKEUP); break;
	case 3: err = bpf_ringbuf_output(&ring3, w->buf, len, BPF_RB_NO_WAKEUP); break;
	case 4: err = bpf_ringbuf_output(&ring4, w->buf, len, BPF_RB_NO_WAKEUP); break;
	case 5: err = bpf_ringbuf_output(&ring5, w->buf, len, BPF_RB_NO_WAKEUP); break;
	case 6: err = bpf_ringbuf_output(&ring6, w->buf, len, BPF_RB_NO_WAKEUP); break;
	default: err = bpf_ringbuf_output(&ring7, w->buf, len, BPF_RB_NO_WAKEUP); break;
	}
	if (err) {
		u64 *d = bpf_map_lookup_elem(&drops, &zero);
		if (d)
			*d += 1;
	}
}

static __always_inline void put_empty(struct w *w)
{
	set_len(w, 0);
}

#define PUT_FIXED(fn, type)                                                    \
	static __always_inline void fn(struct w *w, type v)                    \
	{                                                                      \
		if (w->off >= HALF) {                                          \
			set_len(w, 0);                                         \
			return;                                                \
		}                                                              \
		*(type *)&w->buf[w->off & (HALF - 1)] = v;                     \
		set_len(w, sizeof(type));                                      \
	}
PUT_FIXED(put_u64, u64)
PUT_FIXED(put_u32, u32)
PUT_FIXED(put_u16, u16)
PUT_FIXED(put_u8, u8)

/* A NUL-terminated string from user memory (length includes the NUL). */
static __always_inline void put_ustr(struct w *w, const void *p)
{
	long n = -1;
	if (w->off < HALF && p)
		n = bpf_probe_read_user_str(&w->buf[w->off & (HALF - 1)], PATH_MAX, p);
	set_len(w, n > 0 ? (u32)n : 0);
}

/* Up to `len` raw bytes of user memory (capped at MAX_PART - 1). */
static __always_inline void put_ubuf(struct w *w, const void *p, u64 len)
{
	u32 l;
	if (w->off >= HALF || !p) {
		set_len(w, 0);
		return;
	}
	l = len >= MAX_PART ? MAX_PART - 1 : (u32)len;
	l &= MAX_PART - 1;
	if (l && bpf_probe_read_user(&w->buf[w->off & (HALF - 1)], l, p))
		l = 0;
	set_len(w, l);
}

static __always_inline u64 snap(struct config *c, u64 want)
{
	u64 s = c->snaplen;
	return want < s ? want : s;
}

/* pt_regs from r10 to orig_ax: x86_64's pt_regs layout is fixed (it is the
 * ptrace ABI), so one read gets the syscall number and its six arguments. */
struct regs_tail {
	u64 r10, r9, r8, ax, cx, dx, si, di, orig_ax;
};

/* The calling thread's syscall number (-1 if unreadable), with its
 * arguments, still in its user registers, copied to `out`. */
static __always_inline long read_syscall(struct pt_regs *regs, struct stash *out)
{
	struct regs_tail t;
	if (bpf_core_read(&t, sizeof(t), &regs->r10))
		return -1;
	out->a[0] = t.di;
	out->a[1] = t.si;
	out->a[2] = t.dx;
	out->a[3] = t.r10;
	out->a[4] = t.r8;
	out->a[5] = t.r9;
	return (long)t.orig_ax;
}

static __always_inline u32 open_flags(u64 f)
{
	u32 r = 0;
	switch (f & 3) {
	case 0: r = 1; break;
	case 1: r = 2; break;
	case 2: r = 3; break;
	}
	if (f & 0100) r |= 4;		/* O_CREAT */
	if (f & 0200) r |= 32;		/* O_EXCL */
	if (f & 01000) r |= 256;	/* O_TRUNC */
	if (f & 02000) r |= 8;		/* O_APPEND */
	if (f & 04000) r |= 64;		/* O_NONBLOCK */
	if (f & 010000) r |= 16;	/* O_DSYNC */
	if (f & 04000000) r |= 128;	/* __O_SYNC */
	if (f & 040000) r |= 512;	/* O_DIRECT */
	if (f & 0100000) r |= 2048;	/* O_LARGEFILE */
	if (f & 0200000) r |= 1024;	/* O_DIRECTORY */
	if (f & 02000000) r |= 4096;	/* O_CLOEXEC */
	if (f & 020000000) r |= 8192;	/* __O_TMPFILE */
	return r;
}

static __always_inline u32 open_mode(u64 flags, u64 mode)
{
	return (flags & (0100 | 020000000)) ? (u32)(mode & 07777) : 0;
}

static __always_inline u32 resolve_flags(u64 f)
{
	u32 r = 0;
	if (f & 0x08) r |= 1;	/* RESOLVE_BENEATH */
	if (f & 0x10) r |= 2;	/* RESOLVE_IN_ROOT */
	if (f & 0x02) r |= 4;	/* RESOLVE_NO_MAGICLINKS */
	if (f & 0x04) r |= 8;	/* RESOLVE_NO_SYMLINKS */
	if (f & 0x01) r |= 16;	/* RESOLVE_NO_XDEV */
	if (f & 0x20) r |= 32;	/* RESOLVE_CACHED */
	return r;
}

static __always_inline struct file *fd_file(s64 fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct file **fds = BPF_CORE_READ(t, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(t, files, fdt, max_fds);
	struct file *f = 0;
	if (fd < 0 || fd >= max)
		return 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* dev and ino of an open fd (dev in the userspace "new" encoding). */
static __always_inline void put_dev_ino(struct w *w, s64 fd)
{
	struct file *f = fd >= 0 ? fd_file(fd) : 0;
	if (!f) {
		put_empty(w);
		put_empty(w);
		return;
	}
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	u32 dev = BPF_CORE_READ(ino, i_sb, s_dev);
	u32 major = dev >> 20, minor = dev & 0xfffff;
	put_u32(w, (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12));
	put_u64(w, BPF_CORE_READ(ino, i_ino));
}

/* SOCKTUPLE of a connected socket (local = source). IPv4 and IPv6 only. */
static __always_inline void put_tuple(struct w *w, s64 fd)
{
	struct file *f = fd_file(fd);
	struct socket *so = f ? BPF_CORE_READ(f, private_data) : 0;
	struct sock *sk = so ? BPF_CORE_READ(so, sk) : 0;
	u16 fam = sk ? BPF_CORE_READ(sk, __sk_common.skc_family) : 0;
	u32 p;
	if (w->off >= HALF || (fam != 2 && fam != 10)) {
		put_empty(w);
		return;
	}
	p = w->off & (HALF - 1);
	w->buf[p] = (u8)fam;
	if (fam == 2) {
		*(u32 *)&w->buf[p + 1] = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		*(u16 *)&w->buf[p + 5] = BPF_CORE_READ(sk, __sk_common.skc_num);
		*(u32 *)&w->buf[p + 7] = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		*(u16 *)&w->buf[p + 11] = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		set_len(w, 13);
	} else {
		bpf_core_read(&w->buf[p + 1], 16, &sk->__sk_common.skc_v6_rcv_saddr);
		*(u16 *)&w->buf[p + 17] = BPF_CORE_READ(sk, __sk_common.skc_num);
		bpf_core_read(&w->buf[p + 19], 16, &sk->__sk_common.skc_v6_daddr);
		*(u16 *)&w->buf[p + 35] = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		set_len(w, 37);
	}
}

/* SOCKADDR from a user sockaddr of `len` bytes. */
static __always_inline void put_sockaddr(struct w *w, const void *ua, u64 len)
{
	u8 *raw = &w->buf[TMP_OFF];
	u32 p, l = len > 110 ? 110 : (u32)len;
	u16 fam;
	if (w->off >= HALF || !ua || l < 2 || bpf_probe_read_user(raw, l & 127, ua)) {
		put_empty(w);
		return;
	}
	fam = *(u16 *)raw;
	p = w->off & (HALF - 1);
	w->buf[p] = (u8)fam;
	if (fam == 2 && l >= 8) {
		*(u32 *)&w->buf[p + 1] = *(u32 *)&raw[4];
		*(u16 *)&w->buf[p + 5] = bpf_ntohs(*(u16 *)&raw[2]);
		set_len(w, 7);
	} else if (fam == 10 && l >= 24) {
		__builtin_memcpy(&w->buf[p + 1], &raw[8], 16);
		*(u16 *)&w->buf[p + 17] = bpf_ntohs(*(u16 *)&raw[2]);
		set_len(w, 19);
	} else if (fam == 1) {
		long n = bpf_probe_read_kernel_str(&w->buf[p + 1], 109, &raw[2]);
		set_len(w, n > 0 ? 1 + (u32)n : 1);
	} else {
		set_len(w, 1);
	}
}

/* vm_size, vm_rss and vm_swap of the current process, in KiB. */
static __always_inline void put_vm(struct w *w)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	s64 file, anon, swap, shmem, rss;
	if (!mm) {
		put_empty(w);
		put_empty(w);
		put_empty(w);
		return;
	}
	/* counters: MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES */
	if (bpf_core_type_exists(struct mm_rss_stat)) {
		struct mm_struct___old *o = (void *)mm;
		file = BPF_CORE_READ(o, rss_stat.count[0].counter);
		anon = BPF_CORE_READ(o, rss_stat.count[1].counter);
		swap = BPF_CORE_READ(o, rss_stat.count[2].counter);
		shmem = BPF_CORE_READ(o, rss_stat.count[3].counter);
	} else {
		file = BPF_CORE_READ(mm, rss_stat[0].count);
		anon = BPF_CORE_READ(mm, rss_stat[1].count);
		swap = BPF_CORE_READ(mm, rss_stat[2].count);
		shmem = BPF_CORE_READ(mm, rss_stat[3].count);
	}
	rss = file + anon + shmem;
	put_u32(w, (u32)(BPF_CORE_READ(mm, total_vm) << 2));	/* 4 KiB pages */
	put_u32(w, rss > 0 ? (u32)(rss << 2) : 0);
	put_u32(w, swap > 0 ? (u32)(swap << 2) : 0);
}

/* The process-description params shared by execve and clone exits, from
 * `exe` through `comm`: exe, args, tid, pid, ptid, cwd, fdlimit, pgft_maj,
 * pgft_min, vm_size, vm_rss, vm_swap, comm. */
static __always_inline void put_proc(struct w *w, struct task_struct *t)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	unsigned long as = mm ? BPF_CORE_READ(mm, arg_start) : 0;
	unsigned long ae = mm ? BPF_CORE_READ(mm, arg_end) : 0;
	u32 before = w->off;
	u32 exe_len;

	put_ustr(w, as ? (const void *)as : 0);
	exe_len = w->off - before;
	if (as && ae > as + exe_len)
		put_ubuf(w, (const void *)(as + exe_len), ae - as - exe_len > ARGS_MAX ? ARGS_MAX : ae - as - exe_len);
	else
		put_empty(w);
	put_u64(w, (u64)BPF_CORE_READ(t, pid));
	put_u64(w, (u64)BPF_CORE_READ(t, tgid));
	put_u64(w, (u64)BPF_CORE_READ(t, real_parent, pid));
	put_empty(w); /* cwd */
	put_u64(w, BPF_CORE_READ(t, signal, rlim[7].rlim_cur)); /* RLIMIT_NOFILE */
	put_u64(w, BPF_CORE_READ(t, maj_flt));
	put_u64(w, BPF_CORE_READ(t, min_flt));
	put_vm(w);
	if (w->off < HALF) {
		long n = bpf_core_read_str(&w->buf[w->off & (HALF - 1)], 16, &t->comm);
		set_len(w, n > 0 ? (u32)n : 0);
	} else {
		put_empty(w);
	}
}

/* A successful execve: keep the path it was given for the exit event. */
static __always_inline void on_exec(struct linux_binprm *bprm)
{
	struct config *c = get_config();
	u32 zero = 0, tid;
	struct scratch *s;
	if (!c || excluded(c))
		return;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return;
	tid = (u32)bpf_get_current_pid_tgid();
	if (bpf_probe_read_kernel_str(s->b, PATH_MAX, BPF_CORE_READ(bprm, filename)) < 0)
		s->b[0] = 0;
	bpf_map_update_elem(&exec_fn, &tid, s->b, BPF_ANY);
}

static __always_inline void emit_generic(struct config *c, long id, u16 ppm)
{
	struct w w;
	if (!ev_begin(&w, c, EV_GENERIC_X, 2))
		return;
	put_u16(&w, ppm);
	put_u16(&w, (u16)id);
	ev_submit(&w);
}

static __always_inline void emit_open(struct config *c, u16 type, struct stash *a, s64 ret)
{
	struct w w;
	s64 dirfd = -100;
	const void *name;
	u64 flags, mode, resolve = 0;
	struct { u64 flags, mode, resolve; } how = {};
	u32 np = type == EV_OPEN_X ? 6 : type == EV_CREAT_X ? 6 : type == EV_OPENAT_2_X ? 7 : 8;

	if (type == EV_OPEN_X) {
		name = (const void *)a->a[0]; flags = a->a[1]; mode = a->a[2];
	} else if (type == EV_CREAT_X) {
		name = (const void *)a->a[0]; flags = 01 | 0100 | 01000; mode = a->a[1];
	} else if (type == EV_OPENAT_2_X) {
		dirfd = (s32)a->a[0]; name = (const void *)a->a[1]; flags = a->a[2]; mode = a->a[3];
	} else {
		dirfd = (s32)a->a[0]; name = (const void *)a->a[1];
		bpf_probe_read_user(&how, sizeof(how), (const void *)a->a[2]);
		flags = how.flags; mode = how.mode; resolve = how.resolve;
	}
	if (!ev_begin(&w, c, type, np))
		return;
	put_u64(&w, (u64)ret);
	if (type == EV_OPENAT_2_X || type == EV_OPENAT2_X)
		put_u64(&w, (u64)dirfd);
	put_ustr(&w, name);
	if (type != EV_CREAT_X)
		put_u32(&w, open_flags(flags));
	put_u32(&w, type == EV_CREAT_X ? (u32)(mode & 07777) : open_mode(flags, mode));
	if (type == EV_OPENAT2_X)
		put_u32(&w, resolve_flags(resolve));
	put_dev_ino(&w, ret);
	if (type == EV_CREAT_X)
		put_empty(&w); /* creat_flags */
	ev_submit(&w);
}

static __always_inline void emit_rw(struct config *c, u16 type, struct stash *a, s64 ret)
{
	struct w w;
	u64 n = type == EV_READ_X ? (ret > 0 ? ret : 0) : (ret >= 0 ? ret : a->a[2]);
	if (!ev_begin(&w, c, type, 4))
		return;
	put_u64(&w, (u64)ret);
	put_ubuf(&w, (const void *)a->a[1], snap(c, n));
	put_u64(&w, (u64)(s64)(s32)a->a[0]);
	put_u32(&w, (u32)a->a[2]);
	ev_submit(&w);
}

static __always_inline void emit_close(struct config *c, struct stash *a, s64 ret)
{
	struct w w;
	if (!ev_begin(&w, c, EV_CLOSE_X, 2))
		return;
	put_u64(&w, (u64)ret);
	put_u64(&w, (u64)(s64)(s32)a->a[0]);
	ev_submit(&w);
}

static __always_inline void emit_connect(struct config *c, struct stash *a, s64 ret)
{
	struct w w;
	s64 fd = (s32)a->a[0];
	if (!ev_begin(&w, c, EV_CONNECT_X, 4))
		return;
	put_u64(&w, (u64)ret);
	if (ret == 0 || ret == -115 /* EINPROGRESS */)
		put_tuple(&w, fd);
	else
		put_empty(&w);
	put_u64(&w, (u64)fd);
	put_sockaddr(&w, (const void *)a->a[1], a->a[2]);
	ev_submit(&w);
}

/* The number of pid `p` at namespace level 0, or in its own (deepest)
 * namespace when `own` is set; 0 without a pid. */
static __always_inline s64 pid_nr(struct pid *p, int own)
{
	unsigned int level = 0;
	int nr = 0;
	u64 off;
	if (!p)
		return 0;
	if (own)
		level = BPF_CORE_READ(p, level) & 31;
	off = bpf_core_field_offset(struct pid, numbers) + (u64)level * sizeof(struct upid);
	bpf_probe_read_kernel(&nr, sizeof(nr), (u8 *)p + off);
	return nr;
}

/* The controlling terminal as a device number (userspace encoding, as in
 * /proc/PID/stat), 0 without one. */
static __always_inline u32 task_tty(struct task_struct *t)
{
	struct tty_struct *tty = BPF_CORE_READ(t, signal, tty);
	u32 major, minor;
	if (!tty)
		return 0;
	major = (u32)BPF_CORE_READ(tty, driver, major);
	minor = (u32)(BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index));
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

/* An inode time in ns since the epoch: `ctime` or, if zero, mtime. */
static __always_inline u64 inode_time(struct inode *ino, int ctime)
{
	if (bpf_core_field_exists(struct inode___sec, i_ctime_sec)) {
		struct inode___sec *i = (void *)ino;
		if (ctime)
			return BPF_CORE_READ(i, i_ctime_sec) * 1000000000ULL + BPF_CORE_READ(i, i_ctime_nsec);
		return BPF_CORE_READ(i, i_mtime_sec) * 1000000000ULL + BPF_CORE_READ(i, i_mtime_nsec);
	}
	if (bpf_core_field_exists(struct inode___mid, __i_ctime)) {
		struct inode___mid *i = (void *)ino;
		if (ctime)
			return BPF_CORE_READ(i, __i_ctime.tv_sec) * 1000000000ULL + BPF_CORE_READ(i, __i_ctime.tv_nsec);
		return BPF_CORE_READ(i, __i_mtime.tv_sec) * 1000000000ULL + BPF_CORE_READ(i, __i_mtime.tv_nsec);
	}
	{
		struct inode___old *i = (void *)ino;
		if (ctime)
			return BPF_CORE_READ(i, i_ctime.tv_sec) * 1000000000ULL + BPF_CORE_READ(i, i_ctime.tv_nsec);
		return BPF_CORE_READ(i, i_mtime.tv_sec) * 1000000000ULL + BPF_CORE_READ(i, i_mtime.tv_nsec);
	}
}

#define PPM_EXE_WRITABLE 1
#define PPM_EXE_UPPER_LAYER 2
#define PPM_EXE_FROM_MEMFD 4
#define PPM_EXE_LOWER_LAYER 8
#define CAP_DAC_OVERRIDE 1
#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/* The overlayfs layer of executable file `filep`: PPM_EXE_UPPER_LAYER when
 * its overlay inode has an upper dentry (the file was written or copied up
 * in the container), PPM_EXE_LOWER_LAYER when it has none (the file is in an
 * image layer), 0 off overlayfs. The upper dentry follows the embedded VFS
 * inode in struct ovl_inode; without that type in the kernel BTF (overlayfs
 * built as a module) it is read right after an inode's size. A global
 * function, verified once. */
__noinline u32 exe_layer(u64 filep)
{
	struct dentry *d = BPF_CORE_READ((struct file *)filep, f_path.dentry);
	char *vi;
	u64 off = bpf_core_type_size(struct inode);
	void *upper = 0;
	if (!d || BPF_CORE_READ(d, d_sb, s_magic) != OVERLAYFS_SUPER_MAGIC)
		return 0;
	vi = (char *)BPF_CORE_READ(d, d_inode);
	if (!vi)
		return 0;
	if (bpf_core_type_exists(struct ovl_inode))
		off = bpf_core_field_offset(struct ovl_inode, __upperdentry) -
		      bpf_core_field_offset(struct ovl_inode, vfs_inode);
	bpf_probe_read_kernel(&upper, sizeof(upper), vi + off);
	return upper ? PPM_EXE_UPPER_LAYER : PPM_EXE_LOWER_LAYER;
}

/* execve's `flags`: whether the new executable is writable by the process
 * (owner/group/other write bit for its fs ids, or CAP_DAC_OVERRIDE), which
 * overlayfs layer it is in, and whether it runs from a memfd. */
static __always_inline u32 exe_flags(struct inode *ino, struct file *exe, const struct cred *cr)
{
	u32 flags = 0, mode;
	char name[7] = {};
	if (!ino)
		return 0;
	mode = BPF_CORE_READ(ino, i_mode);
	if (BPF_CORE_READ(cr, cap_effective.val) & (1ULL << CAP_DAC_OVERRIDE))
		flags |= PPM_EXE_WRITABLE;
	else if (BPF_CORE_READ(ino, i_uid.val) == BPF_CORE_READ(cr, fsuid.val))
		flags |= (mode & 0200) ? PPM_EXE_WRITABLE : 0;
	else if (BPF_CORE_READ(ino, i_gid.val) == BPF_CORE_READ(cr, fsgid.val))
		flags |= (mode & 020) ? PPM_EXE_WRITABLE : 0;
	else
		flags |= (mode & 02) ? PPM_EXE_WRITABLE : 0;
	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(exe, f_path.dentry, d_name.name));
	if (name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 'f' && name[4] == 'd' && name[5] == ':')
		flags |= PPM_EXE_FROM_MEMFD;
	return flags | exe_layer((u64)exe);
}

/* The cgroups param: "subsys=path" entries, each NUL-terminated, for the
 * controllers cpuset, cpu, cpuacct, io (named blkio on a v1 hierarchy, as in
 * /proc/PID/cgroup) and memory, at most CG_CAP bytes in all (whole entries
 * only). A controller on a cgroup-v1 hierarchy gets the path of its own
 * cgroup; one on the v2 (default) hierarchy gets the task's v2 cgroup, and
 * only when that hierarchy has it enabled (cpuacct never is on v2); ones the
 * kernel lacks are skipped, and so are cgroups more than CG_DEPTH levels
 * deep. Paths are absolute (not cgroup-namespace relative). */
#define CG_CAP 1024
#define CG_DEPTH 16

/* What cg_fill writes into: the param (b[0..CG_CAP)) with slack after it so
 * that every bounded write is in range, then room for a node chain. */
struct cg_buf {
	u8 b[2 * CG_CAP];
	u64 chain[CG_DEPTH];
};

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(struct kernfs_node___new, __parent))
		return BPF_CORE_READ((struct kernfs_node___new *)kn, __parent);
	return BPF_CORE_READ(kn, parent);
}

/* Appends `nlen` bytes of `name` (the "subsys=" prefix, up to 8 bytes) and
 * the path of cgroup `cgp` at b->b[pos]; returns the new end, or `pos` when
 * the entry does not fit in CG_CAP. A global function, verified once. */
__noinline int cg_entry(struct cg_buf *b, u32 pos, u64 name, u32 nlen, u64 cgp)
{
	struct cgroup *cg = (struct cgroup *)cgp;
	struct kernfs_node *kn = BPF_CORE_READ(cg, kn);
	u32 d = 0, p, i, at;
	long n;
	if (!b)
		return pos;
	for (i = 0; i < CG_DEPTH; i++) {
		struct kernfs_node *up = kn ? kn_parent(kn) : 0;
		if (!up)
			break;
		b->chain[i] = (u64)kn;
		kn = up;
		d++;
	}
	/* Deeper than CG_DEPTH: no entry rather than a wrong path. */
	if (d == CG_DEPTH && kn_parent(kn))
		return pos;
	if (pos > CG_CAP - 8)
		return pos;
	at = pos;
	barrier_var(at);
	at &= CG_CAP - 1;
	*(u64 *)&b->b[at] = name;
	p = pos + nlen;
	if (!d) {
		at = p;
		barrier_var(at);
		at &= CG_CAP - 1;
		b->b[at] = '/';
		p++;
	}
	for (i = 0; i < CG_DEPTH; i++) {
		if (i >= d)
			break;
		kn = (struct kernfs_node *)b->chain[(d - 1 - i) & (CG_DEPTH - 1)];
		if (p >= CG_CAP - 1)
			return pos;
		at = p;
		barrier_var(at);
		at &= CG_CAP - 1;
		b->b[at] = '/';
		p++;
		at = p;
		barrier_var(at);
		at &= CG_CAP - 1;
		n = bpf_probe_read_kernel_str(&b->b[at], CG_CAP, BPF_CORE_READ(kn, name));
		if (n <= 0)
			return pos;
		p += (u32)n - 1;
	}
	if (p >= CG_CAP)
		return pos;
	at = p;
	barrier_var(at);
	at &= CG_CAP - 1;
	b->b[at] = 0;
	return p + 1;
}

/* Up to 8 characters as the u64 that stores them. */
#define CG_NAME(s) ({ u64 v_ = 0; __builtin_memcpy(&v_, s, sizeof(s) - 1); v_; })

/* Writes the current task's cgroups param at b; returns its length. A
 * global function: the verifier checks it once, not once per caller path. */
__noinline int cg_fill(struct cg_buf *b)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct css_set *cs = BPF_CORE_READ(t, cgroups);
	u64 subsys = bpf_core_field_offset(struct css_set, subsys);
	u32 pos = 0, k;
	if (!b || !cs)
		return 0;
	for (k = 0; k < 5; k++) {
		struct cgroup_subsys_state *css = 0;
		struct cgroup *cg;
		s64 id = -1;
		u64 name = 0;
		u32 nlen = 0, v2;
		switch (k) {
		case 0:
			if (bpf_core_enum_value_exists(enum cgroup_subsys_id, cpuset_cgrp_id))
				id = bpf_core_enum_value(enum cgroup_subsys_id, cpuset_cgrp_id);
			name = CG_NAME("cpuset="); nlen = 7;
			break;
		case 1:
			if (bpf_core_enum_value_exists(enum cgroup_subsys_id, cpu_cgrp_id))
				id = bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);
			name = CG_NAME("cpu="); nlen = 4;
			break;
		case 2:
			if (bpf_core_enum_value_exists(enum cgroup_subsys_id, cpuacct_cgrp_id))
				id = bpf_core_enum_value(enum cgroup_subsys_id, cpuacct_cgrp_id);
			name = CG_NAME("cpuacct="); nlen = 8;
			break;
		case 3:
			if (bpf_core_enum_value_exists(enum cgroup_subsys_id, io_cgrp_id))
				id = bpf_core_enum_value(enum cgroup_subsys_id, io_cgrp_id);
			name = CG_NAME("blkio="); nlen = 6;
			break;
		default:
			if (bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
				id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
			name = CG_NAME("memory="); nlen = 7;
			break;
		}
		if (id < 0 || id >= 32)
			continue;
		bpf_probe_read_kernel(&css, sizeof(css), (u8 *)cs + subsys + (u64)id * sizeof(css));
		cg = css ? BPF_CORE_READ(css, cgroup) : 0;
		if (!cg)
			continue;
		v2 = BPF_CORE_READ(cg, root, hierarchy_id) == 0;
		if (v2) {
			if (k == 2 || !(BPF_CORE_READ(cg, root, subsys_mask) & (1u << id)))
				continue;
			cg = BPF_CORE_READ(cs, dfl_cgrp);
			if (k == 3) {
				name = CG_NAME("io=");
				nlen = 3;
			}
		}
		pos = (u32)cg_entry(b, pos, name, nlen, (u64)cg) & (2 * CG_CAP - 1);
	}
	return pos;
}

static __always_inline void put_cgroups(struct w *w)
{
	int n = 0;
	if (w->off < HALF)
		n = cg_fill((struct cg_buf *)&w->buf[w->off & (HALF - 1)]);
	set_len(w, n > 0 ? (u32)n & (2 * CG_CAP - 1) : 0);
}

/* clone flags in the PPM encoding. */
static __always_inline u32 clone_flags(u64 f)
{
	u32 r = 0;
	if (f & 0x400) r |= 1;		/* CLONE_FILES */
	if (f & 0x200) r |= 2;		/* CLONE_FS */
	if (f & 0x80000000ULL) r |= 4;	/* CLONE_IO */
	if (f & 0x8000000) r |= 8;	/* CLONE_NEWIPC */
	if (f & 0x40000000) r |= 16;	/* CLONE_NEWNET */
	if (f & 0x20000) r |= 32;	/* CLONE_NEWNS */
	if (f & 0x20000000) r |= 64;	/* CLONE_NEWPID */
	if (f & 0x4000000) r |= 128;	/* CLONE_NEWUTS */
	if (f & 0x8000) r |= 256;	/* CLONE_PARENT */
	if (f & 0x100000) r |= 512;	/* CLONE_PARENT_SETTID */
	if (f & 0x2000) r |= 1024;	/* CLONE_PTRACE */
	if (f & 0x800) r |= 2048;	/* CLONE_SIGHAND */
	if (f & 0x40000) r |= 4096;	/* CLONE_SYSVSEM */
	if (f & 0x10000) r |= 8192;	/* CLONE_THREAD */
	if (f & 0x800000) r |= 16384;	/* CLONE_UNTRACED */
	if (f & 0x100) r |= 32768;	/* CLONE_VM */
	if (f & 0x10000000) r |= 1048576;	/* CLONE_NEWUSER */
	if (f & 0x200000) r |= 8388608;	/* CLONE_CHILD_CLEARTID */
	if (f & 0x1000000) r |= 16777216;	/* CLONE_CHILD_SETTID */
	if (f & 0x80000) r |= 33554432;	/* CLONE_SETTLS */
	if (f & 0x4000) r |= 134217728;	/* CLONE_VFORK */
	if (f & 0x2000000) r |= 268435456;	/* CLONE_NEWCGROUP */
	return r;
}

/* The exit of clone (flags in the first argument), clone3 (flags first in
 * the clone_args the first argument points to), fork or vfork. */
static __always_inline void emit_clone(struct config *c, u16 type, struct stash *a, s64 ret)
{
	struct w w;
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	const struct cred *cr = BPF_CORE_READ(t, real_cred);
	u64 kflags = 0;
	if (type == EV_CLONE_20_X)
		kflags = a->a[0];
	else if (type == EV_CLONE3_X)
		bpf_probe_read_user(&kflags, sizeof(kflags), (const void *)a->a[0]);
	else if (type == EV_VFORK_20_X)
		kflags = 0x100 | 0x4000; /* CLONE_VM | CLONE_VFORK */
	if (!ev_begin(&w, c, type, 21))
		return;
	put_u64(&w, (u64)ret);
	put_proc(&w, t);
	put_cgroups(&w);
	put_u32(&w, clone_flags(kflags));
	put_u32(&w, BPF_CORE_READ(cr, uid.val));
	put_u32(&w, BPF_CORE_READ(cr, gid.val));
	put_u64(&w, (u64)pid_nr(BPF_CORE_READ(t, thread_pid), 1));
	put_u64(&w, (u64)pid_nr(BPF_CORE_READ(t, signal, pids[1]), 1)); /* PIDTYPE_TGID */
	put_empty(&w); /* pidns_init_start_ts */
	ev_submit(&w);
}

/* execve's exit (EXECVE_19_X, 31 params), or execveat's (EXECVEAT_X, the
 * same 30 params without the trailing filename). */
static __always_inline void emit_execve(struct config *c, u16 type, u32 np, struct stash *a, s64 ret)
{
	struct w w;
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	const struct cred *cr = BPF_CORE_READ(t, real_cred);
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	u32 tid = (u32)bpf_get_current_pid_tgid();
	char *fn = bpf_map_lookup_elem(&exec_fn, &tid);
	unsigned long es = mm ? BPF_CORE_READ(mm, env_start) : 0;
	unsigned long ee = mm ? BPF_CORE_READ(mm, env_end) : 0;
	struct file *exe = mm ? BPF_CORE_READ(mm, exe_file) : 0;
	struct inode *exe_ino = exe ? BPF_CORE_READ(exe, f_inode) : 0;
	if (!ev_begin(&w, c, type, np))
		return;
	put_u64(&w, (u64)ret);
	put_proc(&w, t);
	put_cgroups(&w);
	if (es && ee > es)
		put_ubuf(&w, (const void *)es, ee - es > ARGS_MAX ? ARGS_MAX : ee - es);
	else
		put_empty(&w);
	put_u32(&w, task_tty(t));
	put_u64(&w, (u64)pid_nr(BPF_CORE_READ(t, signal, pids[2]), 1)); /* PIDTYPE_PGID */
	put_u32(&w, BPF_CORE_READ(t, loginuid.val));
	put_u32(&w, exe_flags(exe_ino, exe, cr));
	put_u64(&w, BPF_CORE_READ(cr, cap_inheritable.val));
	put_u64(&w, BPF_CORE_READ(cr, cap_permitted.val));
	put_u64(&w, BPF_CORE_READ(cr, cap_effective.val));
	if (exe_ino) {
		put_u64(&w, BPF_CORE_READ(exe_ino, i_ino));
		put_u64(&w, inode_time(exe_ino, 1));
		put_u64(&w, inode_time(exe_ino, 0));
	} else {
		put_empty(&w);
		put_empty(&w);
		put_empty(&w);
	}
	put_u32(&w, BPF_CORE_READ(cr, uid.val));
	put_empty(&w); /* trusted_exepath */
	put_u64(&w, (u64)pid_nr(BPF_CORE_READ(t, signal, pids[2]), 0));
	put_u32(&w, BPF_CORE_READ(cr, gid.val));
	if (type != EV_EXECVE_19_X) {
		/* no filename param */
	} else if (ret == 0 && fn && w.off < HALF) {
		long n = bpf_probe_read_kernel_str(&w.buf[w.off & (HALF - 1)], PATH_MAX, fn);
		set_len(&w, n > 0 ? (u32)n : 0);
	} else if (ret != 0) {
		put_ustr(&w, (const void *)a->a[0]);
	} else {
		put_empty(&w);
	}
	ev_submit(&w);
	if (fn)
		bpf_map_delete_elem(&exec_fn, &tid);
}

#include "fill_net.h"
#include "fill_fs.h"

static __always_inline void on_exit(struct pt_regs *regs, long ret)
{
	struct config *c = get_config();
	struct stash a;
	struct sc_info *sc;
	u32 key;
	long id;
	if (!c || excluded(c))
		return;
	id = read_syscall(regs, &a);
	key = (u32)id;
	sc = key < SC_IDS ? bpf_map_lookup_elem(&sc_map, &key) : 0;
	if (!sc || !sc->emit)
		return;
	switch (id) {
	case NR_read: emit_rw(c, EV_READ_X, &a, ret); return;
	case NR_write: emit_rw(c, EV_WRITE_X, &a, ret); return;
	case NR_open: emit_open(c, EV_OPEN_X, &a, ret); return;
	case NR_creat: emit_open(c, EV_CREAT_X, &a, ret); return;
	case NR_openat: emit_open(c, EV_OPENAT_2_X, &a, ret); return;
	case NR_openat2: emit_open(c, EV_OPENAT2_X, &a, ret); return;
	case NR_close: emit_close(c, &a, ret); return;
	case NR_connect: emit_connect(c, &a, ret); return;
	case NR_execve: emit_execve(c, EV_EXECVE_19_X, 31, &a, ret); return;
	case NR_clone: emit_clone(c, EV_CLONE_20_X, &a, ret); return;
	case NR_fork: emit_clone(c, EV_FORK_20_X, &a, ret); return;
	case NR_vfork: emit_clone(c, EV_VFORK_20_X, &a, ret); return;
	case NR_clone3: emit_clone(c, EV_CLONE3_X, &a, ret); return;
	}
	if (fill_net(c, id, &a, ret) || fill_fs(c, id, &a, ret))
		return;
	emit_generic(c, id, sc->ppm);
}

static __always_inline void on_procexit(void)
{
	struct config *c = get_config();
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct w w;
	int code;
	if (!c || excluded(c))
		return;
	code = BPF_CORE_READ(t, exit_code);
	if (!ev_begin(&w, c, EV_PROCEXIT_1_E, 5))
		return;
	put_u64(&w, (u64)(s64)code);
	put_u64(&w, (u64)(s64)((code >> 8) & 0xff));
	put_u8(&w, (u8)(code & 0x7f));
	put_u8(&w, (code & 0x80) ? 1 : 0);
	put_empty(&w); /* reaper_tid */
	ev_submit(&w);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	on_exec(bprm);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
	on_exit(regs, ret);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(procexit_btf)
{
	on_procexit();
	return 0;
}

SEC("raw_tracepoint/sched_process_exec")
int BPF_PROG(exec_raw, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	on_exec(bprm);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int BPF_PROG(sys_exit_raw, struct pt_regs *regs, long ret)
{
	on_exit(regs, ret);
	return 0;
}

SEC("raw_tracepoint/sched_process_exit")
int BPF_PROG(procexit_raw)
{
	on_procexit();
	return 0;
}
