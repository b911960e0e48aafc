/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exit events of the file-system, fd, process, id, memory and other
 * syscalls; included by osprey.bpf.c after fill_net.h.
 *
 * Each syscall becomes the newest exit event type the event table has for it,
 * with all its parameters in table order. Every one of these events starts
 * with the syscall's return value (res, fd), so fill_fs() writes that once and
 * then the per-syscall parameters from the argument registers. Paths are the
 * user strings as given (FSRELPATH ones are resolved by userspace against the
 * dirfd parameter); flags are converted to the PPM_* encodings the render
 * tables expect, or passed through where both encodings agree (unlinkat,
 * linkat, renameat2, chmod modes, mount, umount2, memfd_create).
 * The memory events carry the process's vm_size/vm_rss/vm_swap (put_vm(),
 * which put_proc() could use too).
 *
 * Helpers here are prefixed fs_ (fill_net.h shares the translation unit).
 */
#pragma once

/* Event types (osprey_event::table::EVENTS). */
#define EV_PIPE_X 61
#define EV_CHDIR_X 95
#define EV_FCHDIR_X 97
#define EV_KILL_X 129
#define EV_TKILL_X 131
#define EV_TGKILL_X 133
#define EV_BRK_4_X 159
#define EV_MMAP_X 161
#define EV_MUNMAP_X 165
#define EV_PTRACE_X 169
#define EV_RENAME_X 175
#define EV_RENAMEAT_X 177
#define EV_SYMLINK_X 179
#define EV_SYMLINKAT_X 181
#define EV_SETRESUID_X 193
#define EV_SETRESGID_X 195
#define EV_SETUID_X 199
#define EV_SETGID_X 201
#define EV_SETNS_X 241
#define EV_MOUNT_X 257
#define EV_CHROOT_X 267
#define EV_SETSID_X 275
#define EV_MKDIR_2_X 277
#define EV_RMDIR_2_X 279
#define EV_UNSHARE_X 285
#define EV_SETPGID_X 295
#define EV_SECCOMP_X 299
#define EV_UNLINK_2_X 301
#define EV_UNLINKAT_2_X 303
#define EV_MKDIRAT_X 305
#define EV_LINK_2_X 309
#define EV_LINKAT_2_X 311
#define EV_FCHMODAT_X 313
#define EV_CHMOD_X 315
#define EV_FCHMOD_X 317
#define EV_RENAMEAT2_X 319
#define EV_USERFAULTFD_X 321
#define EV_MPROTECT_X 329
#define EV_EXECVEAT_X 331
#define EV_CAPSET_X 353
#define EV_DUP2_X 363
#define EV_DUP3_X 365
#define EV_DUP_1_X 367
#define EV_BPF_2_X 369
#define EV_CHOWN_X 379
#define EV_LCHOWN_X 381
#define EV_FCHOWN_X 383
#define EV_FCHOWNAT_X 385
#define EV_UMOUNT2_X 391
#define EV_PIPE2_X 393
#define EV_PRCTL_X 401
#define EV_MEMFD_CREATE_X 405
#define EV_PIDFD_GETFD_X 407
#define EV_PIDFD_OPEN_X 409
#define EV_PROCESS_VM_READV_X 421
#define EV_PROCESS_VM_WRITEV_X 423
#define EV_SETREUID_X 427
#define EV_SETREGID_X 429

/* x86_64 syscall numbers. */
#define NR_mmap 9
#define NR_mprotect 10
#define NR_munmap 11
#define NR_brk 12
#define NR_pipe 22
#define NR_dup 32
#define NR_dup2 33
#define NR_kill 62
#define NR_chdir 80
#define NR_fchdir 81
#define NR_rename 82
#define NR_mkdir 83
#define NR_rmdir 84
#define NR_link 86
#define NR_unlink 87
#define NR_symlink 88
#define NR_chmod 90
#define NR_fchmod 91
#define NR_chown 92
#define NR_fchown 93
#define NR_lchown 94
#define NR_ptrace 101
#define NR_setuid 105
#define NR_setgid 106
#define NR_setpgid 109
#define NR_setsid 112
#define NR_setreuid 113
#define NR_setregid 114
#define NR_setresuid 117
#define NR_setresgid 119
#define NR_capset 126
#define NR_prctl 157
#define NR_chroot 161
#define NR_mount 165
#define NR_umount2 166
#define NR_tkill 200
#define NR_tgkill 234
#define NR_mkdirat 258
#define NR_fchownat 260
#define NR_unlinkat 263
#define NR_renameat 264
#define NR_linkat 265
#define NR_symlinkat 266
#define NR_fchmodat 268
#define NR_unshare 272
#define NR_dup3 292
#define NR_pipe2 293
#define NR_setns 308
#define NR_process_vm_readv 310
#define NR_process_vm_writev 311
#define NR_renameat2 316
#define NR_seccomp 317
#define NR_memfd_create 319
#define NR_bpf 321
#define NR_execveat 322
#define NR_userfaultfd 323
#define NR_pidfd_open 434
#define NR_pidfd_getfd 438

#define FS_IOV_MAX 8	/* iovecs gathered for process_vm_readv/writev */

/* Kernel O_* bits and their PPM_O_* values. */
#define K_O_NONBLOCK 04000
#define K_O_DIRECT 040000
#define K_O_CLOEXEC 02000000
#define PPM_O_NONBLOCK 64
#define PPM_O_DIRECT 512
#define PPM_O_CLOEXEC 4096

/* An fd (or pid) argument: the low 32 bits, sign-extended. */
static __always_inline void fs_put_fd(struct w *w, u64 v)
{
	put_u64(w, (u64)(s64)(s32)v);
}

static __always_inline void fs_put_str(struct w *w, u64 p)
{
	put_ustr(w, (const void *)p);
}

/* vm_size, vm_rss and vm_swap (KiB) of the current process; empty for a
 * kernel thread. */
/* A DYN parameter: its type index, then an 8-byte or 1-byte value. */
static __always_inline void fs_put_dyn(struct w *w, u8 idx, u64 v, u32 size)
{
	u32 p;
	if (w->off >= HALF) {
		put_empty(w);
		return;
	}
	p = w->off & (HALF - 1);
	w->buf[p] = idx;
	if (size == 8)
		*(u64 *)&w->buf[p + 1] = v;
	else
		w->buf[p + 1] = (u8)v;
	set_len(w, 1 + (size == 8 ? 8 : 1));
}

/* The inode number of an open fd (0 when there is none). */
static __always_inline u64 fs_fd_ino(s64 fd)
{
	struct file *f = fd_file(fd);
	return f ? BPF_CORE_READ(f, f_inode, i_ino) : 0;
}

static __always_inline u32 fs_pipe_flags(u64 f)
{
	u32 r = 0;
	if ((s32)f < 0)
		return 0;
	if (f & K_O_CLOEXEC) r |= PPM_O_CLOEXEC;
	if (f & K_O_DIRECT) r |= PPM_O_DIRECT;
	if (f & K_O_NONBLOCK) r |= PPM_O_NONBLOCK;
	return r;
}

static __always_inline u32 fs_clone_flags(u64 f)
{
	u32 r = 0;
	if (f & 0x400) r |= 1 << 0;		/* CLONE_FILES */
	if (f & 0x200) r |= 1 << 1;		/* CLONE_FS */
	if (f & 0x80000000) r |= 1 << 2;	/* CLONE_IO */
	if (f & 0x08000000) r |= 1 << 3;	/* CLONE_NEWIPC */
	if (f & 0x40000000) r |= 1 << 4;	/* CLONE_NEWNET */
	if (f & 0x00020000) r |= 1 << 5;	/* CLONE_NEWNS */
	if (f & 0x20000000) r |= 1 << 6;	/* CLONE_NEWPID */
	if (f & 0x04000000) r |= 1 << 7;	/* CLONE_NEWUTS */
	if (f & 0x8000) r |= 1 << 8;		/* CLONE_PARENT */
	if (f & 0x00100000) r |= 1 << 9;	/* CLONE_PARENT_SETTID */
	if (f & 0x2000) r |= 1 << 10;		/* CLONE_PTRACE */
	if (f & 0x800) r |= 1 << 11;		/* CLONE_SIGHAND */
	if (f & 0x00040000) r |= 1 << 12;	/* CLONE_SYSVSEM */
	if (f & 0x00010000) r |= 1 << 13;	/* CLONE_THREAD */
	if (f & 0x00800000) r |= 1 << 14;	/* CLONE_UNTRACED */
	if (f & 0x100) r |= 1 << 15;		/* CLONE_VM */
	if (f & 0x10000000) r |= 1 << 20;	/* CLONE_NEWUSER */
	if (f & 0x00200000) r |= 1 << 23;	/* CLONE_CHILD_CLEARTID */
	if (f & 0x01000000) r |= 1 << 24;	/* CLONE_CHILD_SETTID */
	if (f & 0x00080000) r |= 1 << 25;	/* CLONE_SETTLS */
	if (f & 0x4000) r |= 1 << 27;		/* CLONE_VFORK */
	if (f & 0x02000000) r |= 1 << 28;	/* CLONE_NEWCGROUP */
	return r;
}

static __always_inline u32 fs_prot_flags(u64 f)
{
	u32 r = (u32)f & 0xf;			/* READ, WRITE, EXEC, SEM */
	if (f & 0x01000000) r |= 1 << 4;	/* PROT_GROWSDOWN */
	if (f & 0x02000000) r |= 1 << 5;	/* PROT_GROWSUP */
	return r;
}

static __always_inline u32 fs_mmap_flags(u64 f)
{
	u32 r = (u32)f & 3;			/* MAP_SHARED, MAP_PRIVATE */
	if (f & 0x10) r |= 1 << 2;		/* MAP_FIXED */
	if (f & 0x20) r |= 1 << 3;		/* MAP_ANONYMOUS */
	if (f & 0x40) r |= 1 << 4;		/* MAP_32BIT */
	if (f & 0x4000) r |= 1 << 6;		/* MAP_NORESERVE */
	if (f & 0x8000) r |= 1 << 7;		/* MAP_POPULATE */
	if (f & 0x10000) r |= 1 << 8;		/* MAP_NONBLOCK */
	if (f & 0x100) r |= 1 << 9;		/* MAP_GROWSDOWN */
	if (f & 0x800) r |= 1 << 10;		/* MAP_DENYWRITE */
	if (f & 0x1000) r |= 1 << 11;		/* MAP_EXECUTABLE */
	if (f & 0x2000) r |= 1 << 14;		/* MAP_LOCKED */
	return r;
}

/* PPM_PTRACE_* of a kernel ptrace request (0 = unknown). */
static __always_inline u16 fs_ptrace_req(u64 r)
{
	if (r <= 9)		/* TRACEME .. SINGLESTEP */
		return (u16)r + 1;
	if (r >= 0x4200 && r <= 0x420b)	/* SETOPTIONS .. SETSIGMASK */
		return (u16)(r - 0x4200) + 14;
	switch (r) {
	case 12: return 26;	/* GETREGS */
	case 13: return 27;	/* SETREGS */
	case 14: return 28;	/* GETFPREGS */
	case 15: return 29;	/* SETFPREGS */
	case 16: return 11;	/* ATTACH */
	case 17: return 12;	/* DETACH */
	case 18: return 30;	/* GETFPXREGS */
	case 19: return 31;	/* SETFPXREGS */
	case 21: return 32;	/* OLDSETOPTIONS */
	case 24: return 13;	/* SYSCALL */
	case 25: return 33;	/* GET_THREAD_AREA */
	case 26: return 34;	/* SET_THREAD_AREA */
	case 30: return 35;	/* ARCH_PRCTL */
	case 31: return 36;	/* SYSEMU */
	case 32: return 37;	/* SYSEMU_SINGLESTEP */
	case 33: return 38;	/* SINGLEBLOCK */
	}
	return 0;
}

/* ptrace's data: the word read for PEEK*, the signal for the requests that
 * resume the tracee, the raw value otherwise (0 after a failure). */
static __always_inline void fs_put_ptrace_data(struct w *w, u16 req, u64 data, s64 ret)
{
	u64 v = 0;
	if (ret < 0) {
		fs_put_dyn(w, 0, 0, 8);
	} else if (req >= 2 && req <= 4) {	/* PEEKTEXT, PEEKDATA, PEEKUSR */
		bpf_probe_read_user(&v, sizeof(v), (const void *)data);
		fs_put_dyn(w, 0, v, 8);
	} else if (req == 8 || req == 10 || req == 12 || req == 13) {
		fs_put_dyn(w, 1, data, 1);	/* CONT, SINGLESTEP, DETACH, SYSCALL */
	} else {
		fs_put_dyn(w, 0, data, 8);
	}
}

/* Up to `want` bytes gathered from the first FS_IOV_MAX iovecs at `iov`. */
static __always_inline void fs_put_iov(struct w *w, u64 iov, u64 cnt, u64 want)
{
	struct { u64 base, len; } v;
	u32 base, total = 0;
	u64 n;
	if (w->off >= HALF || !iov) {
		put_empty(w);
		return;
	}
	base = w->off & (HALF - 1);
	if (want > MAX_PART - 1)
		want = MAX_PART - 1;
#pragma unroll
	for (int i = 0; i < FS_IOV_MAX; i++) {
		if (i >= cnt || total >= want)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), (const void *)(iov + i * sizeof(v))))
			break;
		n = want - total;
		if (v.len < n)
			n = v.len;
		n &= MAX_PART - 1;
		if (n && bpf_probe_read_user(&w->buf[base + (total & (MAX_PART - 1))], n, (const void *)v.base))
			break;
		total = (total + n) & (MAX_PART - 1);	/* never more than want */
	}
	set_len(w, total);
}

/* Event type and parameter count of syscall `id`; 0 when not decoded here. */
static __always_inline u32 fs_layout(long id)
{
#define L(type, np) return ((u32)(type) << 8) | (np)
	switch (id) {
	case NR_dup: L(EV_DUP_1_X, 2);
	case NR_dup2: L(EV_DUP2_X, 3);
	case NR_dup3: L(EV_DUP3_X, 4);
	case NR_pipe: L(EV_PIPE_X, 4);
	case NR_pipe2: L(EV_PIPE2_X, 5);
	case NR_memfd_create: L(EV_MEMFD_CREATE_X, 3);
	case NR_pidfd_open: L(EV_PIDFD_OPEN_X, 3);
	case NR_pidfd_getfd: L(EV_PIDFD_GETFD_X, 4);
	case NR_userfaultfd: L(EV_USERFAULTFD_X, 2);
	case NR_chdir: L(EV_CHDIR_X, 2);
	case NR_fchdir: L(EV_FCHDIR_X, 2);
	case NR_chroot: L(EV_CHROOT_X, 2);
	case NR_mkdir: L(EV_MKDIR_2_X, 3);
	case NR_mkdirat: L(EV_MKDIRAT_X, 4);
	case NR_rmdir: L(EV_RMDIR_2_X, 2);
	case NR_unlink: L(EV_UNLINK_2_X, 2);
	case NR_unlinkat: L(EV_UNLINKAT_2_X, 4);
	case NR_rename: L(EV_RENAME_X, 3);
	case NR_renameat: L(EV_RENAMEAT_X, 5);
	case NR_renameat2: L(EV_RENAMEAT2_X, 6);
	case NR_symlink: L(EV_SYMLINK_X, 3);
	case NR_symlinkat: L(EV_SYMLINKAT_X, 4);
	case NR_link: L(EV_LINK_2_X, 3);
	case NR_linkat: L(EV_LINKAT_2_X, 6);
	case NR_chmod: L(EV_CHMOD_X, 3);
	case NR_fchmod: L(EV_FCHMOD_X, 3);
	case NR_fchmodat: L(EV_FCHMODAT_X, 4);
	case NR_chown: L(EV_CHOWN_X, 4);
	case NR_lchown: L(EV_LCHOWN_X, 4);
	case NR_fchown: L(EV_FCHOWN_X, 4);
	case NR_fchownat: L(EV_FCHOWNAT_X, 6);
	case NR_kill: L(EV_KILL_X, 3);
	case NR_tkill: L(EV_TKILL_X, 3);
	case NR_tgkill: L(EV_TGKILL_X, 4);
	case NR_setuid: L(EV_SETUID_X, 2);
	case NR_setgid: L(EV_SETGID_X, 2);
	case NR_setresuid: L(EV_SETRESUID_X, 4);
	case NR_setresgid: L(EV_SETRESGID_X, 4);
	case NR_setreuid: L(EV_SETREUID_X, 3);
	case NR_setregid: L(EV_SETREGID_X, 3);
	case NR_setsid: L(EV_SETSID_X, 1);
	case NR_setpgid: L(EV_SETPGID_X, 3);
	case NR_capset: L(EV_CAPSET_X, 4);
	case NR_prctl: L(EV_PRCTL_X, 4);
	case NR_ptrace: L(EV_PTRACE_X, 5);
	case NR_seccomp: L(EV_SECCOMP_X, 3);
	case NR_setns: L(EV_SETNS_X, 3);
	case NR_unshare: L(EV_UNSHARE_X, 2);
	case NR_mount: L(EV_MOUNT_X, 5);
	case NR_umount2: L(EV_UMOUNT2_X, 3);
	case NR_bpf: L(EV_BPF_2_X, 2);
	case NR_mmap: L(EV_MMAP_X, 10);
	case NR_munmap: L(EV_MUNMAP_X, 6);
	case NR_mprotect: L(EV_MPROTECT_X, 4);
	case NR_brk: L(EV_BRK_4_X, 5);
	case NR_process_vm_readv: L(EV_PROCESS_VM_READV_X, 3);
	case NR_process_vm_writev: L(EV_PROCESS_VM_WRITEV_X, 3);
	}
#undef L
	return 0;
}

/* Emits the exit event of syscall `id` and returns 1, or returns 0
 * when this file has no decoder for it. */
static __always_inline int fill_fs(struct config *c, long id, struct stash *a, s64 ret)
{
	struct w w;
	u32 layout;
	s32 fds[2] = { -1, -1 };
	u64 *x = a->a;

	if (id == NR_execveat) {
		emit_execve(c, EV_EXECVEAT_X, 30, a, ret);
		return 1;
	}
	layout = fs_layout(id);
	if (!layout)
		return 0;
	if (!ev_begin(&w, c, (u16)(layout >> 8), layout & 0xff))
		return 1;
	put_u64(&w, (u64)ret);	/* res / fd */

	switch (id) {
	/* fds */
	case NR_dup:
	case NR_fchdir:
		fs_put_fd(&w, x[0]);
		break;
	case NR_dup2:
	case NR_dup3:
		fs_put_fd(&w, x[0]);
		fs_put_fd(&w, x[1]);
		if (id == NR_dup3)
			put_u32(&w, (x[2] & K_O_CLOEXEC) ? PPM_O_CLOEXEC : 0);
		break;
	case NR_pipe:
	case NR_pipe2:
		if (ret == 0 && bpf_probe_read_user(fds, sizeof(fds), (const void *)x[0])) {
			fds[0] = -1;
			fds[1] = -1;
		}
		put_u64(&w, (u64)(s64)fds[0]);
		put_u64(&w, (u64)(s64)fds[1]);
		put_u64(&w, ret == 0 ? fs_fd_ino(fds[0]) : 0);
		if (id == NR_pipe2)
			put_u32(&w, fs_pipe_flags(x[1]));
		break;
	case NR_memfd_create:
		fs_put_str(&w, x[0]);
		put_u32(&w, (u32)x[1] & 7);	/* MFD_CLOEXEC, ALLOW_SEALING, HUGETLB */
		break;
	case NR_pidfd_open:
		fs_put_fd(&w, x[0]);
		put_u32(&w, (x[1] & K_O_NONBLOCK) ? 1 : 0);	/* PIDFD_NONBLOCK */
		break;
	case NR_pidfd_getfd:
		fs_put_fd(&w, x[0]);
		fs_put_fd(&w, x[1]);
		put_u32(&w, (u32)x[2]);
		break;
	case NR_userfaultfd:
		put_u32(&w, (u32)x[0]);
		break;

	/* paths */
	case NR_chdir:
	case NR_chroot:
	case NR_rmdir:
	case NR_unlink:
		fs_put_str(&w, x[0]);
		break;
	case NR_mkdir:
		fs_put_str(&w, x[0]);
		put_u32(&w, (u32)x[1]);
		break;
	case NR_chmod:
		fs_put_str(&w, x[0]);
		put_u32(&w, (u32)x[1] & 07777);
		break;
	case NR_fchmod:
		fs_put_fd(&w, x[0]);
		put_u32(&w, (u32)x[1] & 07777);
		break;
	case NR_mkdirat:
	case NR_unlinkat:
	case NR_fchmodat:
		fs_put_fd(&w, x[0]);
		fs_put_str(&w, x[1]);
		if (id == NR_mkdirat)
			put_u32(&w, (u32)x[2]);
		else if (id == NR_unlinkat)
			put_u32(&w, (u32)x[2] & 0x200);	/* AT_REMOVEDIR */
		else
			put_u32(&w, (u32)x[2] & 07777);
		break;
	case NR_rename:
	case NR_symlink:
	case NR_link:
		fs_put_str(&w, x[0]);
		fs_put_str(&w, x[1]);
		break;
	case NR_symlinkat:
		fs_put_str(&w, x[0]);
		fs_put_fd(&w, x[1]);
		fs_put_str(&w, x[2]);
		break;
	case NR_renameat:
	case NR_renameat2:
	case NR_linkat:
		fs_put_fd(&w, x[0]);
		fs_put_str(&w, x[1]);
		fs_put_fd(&w, x[2]);
		fs_put_str(&w, x[3]);
		if (id == NR_renameat2)
			put_u32(&w, (u32)x[4] & 7);	/* RENAME_NOREPLACE, EXCHANGE, WHITEOUT */
		else if (id == NR_linkat)
			put_u32(&w, (u32)x[4] & 0x1400);	/* AT_SYMLINK_FOLLOW, AT_EMPTY_PATH */
		break;
	case NR_chown:
	case NR_lchown:
		fs_put_str(&w, x[0]);
		put_u32(&w, (u32)x[1]);
		put_u32(&w, (u32)x[2]);
		break;
	case NR_fchown:
		fs_put_fd(&w, x[0]);
		put_u32(&w, (u32)x[1]);
		put_u32(&w, (u32)x[2]);
		break;
	case NR_fchownat:
		fs_put_fd(&w, x[0]);
		fs_put_str(&w, x[1]);
		put_u32(&w, (u32)x[2]);
		put_u32(&w, (u32)x[3]);
		put_u32(&w, (u32)x[4] & 0x1400);	/* AT_SYMLINK_FOLLOW, AT_EMPTY_PATH */
		break;
	case NR_mount: {
		u64 f = x[3];
		if ((f & 0xffff0000) == 0xC0ED0000)	/* MS_MGC_VAL */
			f &= 0xffff;
		fs_put_str(&w, x[0]);
		fs_put_str(&w, x[1]);
		fs_put_str(&w, x[2]);
		put_u32(&w, (u32)f);
		break;
	}
	case NR_umount2:
		fs_put_str(&w, x[0]);
		put_u32(&w, (u32)x[1] & 0xf);	/* MNT_FORCE, DETACH, EXPIRE, UMOUNT_NOFOLLOW */
		break;

	/* processes and ids */
	case NR_kill:
	case NR_tkill:
		fs_put_fd(&w, x[0]);
		put_u8(&w, (u8)x[1]);
		break;
	case NR_tgkill:
		fs_put_fd(&w, x[0]);
		fs_put_fd(&w, x[1]);
		put_u8(&w, (u8)x[2]);
		break;
	case NR_setuid:
	case NR_setgid:
	case NR_setresuid:
	case NR_setresgid:
	case NR_setreuid:
	case NR_setregid:
		put_u32(&w, (u32)x[0]);
		if (id == NR_setuid || id == NR_setgid)
			break;
		put_u32(&w, (u32)x[1]);
		if (id == NR_setresuid || id == NR_setresgid)
			put_u32(&w, (u32)x[2]);
		break;
	case NR_setpgid:
		fs_put_fd(&w, x[0]);
		fs_put_fd(&w, x[1]);
		break;
	case NR_capset: {
		struct task_struct *t = (struct task_struct *)bpf_get_current_task();
		const struct cred *cr = BPF_CORE_READ(t, real_cred);
		put_u64(&w, BPF_CORE_READ(cr, cap_inheritable.val));
		put_u64(&w, BPF_CORE_READ(cr, cap_permitted.val));
		put_u64(&w, BPF_CORE_READ(cr, cap_effective.val));
		break;
	}
	case NR_prctl: {
		u32 opt = (u32)x[0];
		s32 v = 0;
		put_u32(&w, opt);
		if (opt == 15 || opt == 16) {	/* PR_SET_NAME, PR_GET_NAME */
			fs_put_str(&w, x[1]);
			put_empty(&w);
		} else if (opt == 37) {		/* PR_GET_CHILD_SUBREAPER */
			put_empty(&w);
			bpf_probe_read_user(&v, sizeof(v), (const void *)x[1]);
			put_u64(&w, (u64)(s64)v);
		} else {
			put_empty(&w);
			put_u64(&w, x[1]);
		}
		break;
	}
	case NR_ptrace: {
		u16 req = fs_ptrace_req(x[0]);
		fs_put_dyn(&w, 0, ret < 0 ? 0 : x[2], 8);
		fs_put_ptrace_data(&w, req, x[3], ret);
		put_u16(&w, req);
		fs_put_fd(&w, x[1]);
		break;
	}
	case NR_seccomp:
		put_u64(&w, x[0]);
		put_u64(&w, x[1]);
		break;
	case NR_setns:
		fs_put_fd(&w, x[0]);
		put_u32(&w, fs_clone_flags(x[1]));
		break;
	case NR_unshare:
		put_u32(&w, fs_clone_flags(x[0]));
		break;
	case NR_bpf:
		put_u32(&w, (u32)x[0]);
		break;

	/* memory */
	case NR_mmap:
	case NR_munmap:
	case NR_brk:
		put_vm(&w);
		put_u64(&w, x[0]);
		if (id == NR_brk)
			break;
		put_u64(&w, x[1]);
		if (id == NR_munmap)
			break;
		put_u32(&w, fs_prot_flags(x[2]));
		put_u32(&w, fs_mmap_flags(x[3]));
		fs_put_fd(&w, x[4]);
		put_u64(&w, x[5]);
		break;
	case NR_mprotect:
		put_u64(&w, x[0]);
		put_u64(&w, x[1]);
		put_u32(&w, fs_prot_flags(x[2]));
		break;
	case NR_process_vm_readv:
	case NR_process_vm_writev:
		fs_put_fd(&w, x[0]);
		if (ret > 0)
			fs_put_iov(&w, x[1], x[2], snap(c, (u64)ret));
		else
			put_empty(&w);
		break;
	}
	ev_submit(&w);
	return 1;
}
