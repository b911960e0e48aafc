/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel types osprey.bpf.c reads, declared by hand instead of a
 * multi-megabyte bpftool-generated vmlinux.h. Every struct is marked
 * preserve_access_index, so field offsets are CO-RE relocated against the
 * running kernel's BTF at load time: only the field NAMES and types here
 * matter, not the layout (fields the kernel keeps in anonymous sub-structs
 * or unions are found by name).
 */
#ifndef OSPREY_VMLINUX_MIN_H
#define OSPREY_VMLINUX_MIN_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef int pid_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;
typedef unsigned int dev_t;
typedef _Bool bool;

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
	BPF_ANY = 0,
	BPF_RB_NO_WAKEUP = 1,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

typedef struct { uid_t val; } kuid_t;
typedef struct { gid_t val; } kgid_t;
typedef struct { u64 val; } kernel_cap_t;

struct cred {
	kuid_t uid;
	kgid_t gid;
	kuid_t fsuid;
	kgid_t fsgid;
	kernel_cap_t cap_inheritable;
	kernel_cap_t cap_permitted;
	kernel_cap_t cap_effective;
};

/* The RSS counters: percpu counters since Linux 6.2 ... */
struct percpu_counter {
	s64 count;
};

struct mm_struct {
	struct file *exe_file;
	unsigned long arg_start;
	unsigned long arg_end;
	unsigned long env_start;
	unsigned long env_end;
	unsigned long total_vm;
	struct percpu_counter rss_stat[4];
};

/* ... atomics in a struct of their own before (the ___old flavor is matched
 * by CO-RE against the kernel's struct mm_struct). */
typedef struct {
	s64 counter;
} atomic64_t;

struct mm_rss_stat {
	atomic64_t count[4];
};

struct mm_struct___old {
	struct mm_rss_stat rss_stat;
};

struct super_block {
	dev_t s_dev;
	unsigned long s_magic;
};

struct inode {
	unsigned short i_mode;
	kuid_t i_uid;
	kgid_t i_gid;
	unsigned long i_ino;
	struct super_block *i_sb;
};

/* Inode times: separate seconds and nanoseconds since Linux 6.11 ... */
struct inode___sec {
	long long i_mtime_sec;
	long long i_ctime_sec;
	unsigned int i_mtime_nsec;
	unsigned int i_ctime_nsec;
} __attribute__((preserve_access_index));

struct timespec64 {
	long long tv_sec;
	long tv_nsec;
};

/* ... __i_ctime/__i_mtime timespec64s in 6.6-6.10 (6.7 for mtime) ... */
struct inode___mid {
	struct timespec64 __i_ctime;
	struct timespec64 __i_mtime;
} __attribute__((preserve_access_index));

/* ... and i_ctime/i_mtime before. */
struct inode___old {
	struct timespec64 i_ctime;
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));

struct qstr {
	const unsigned char *name;
};

struct dentry {
	struct qstr d_name;
	struct inode *d_inode;
	struct super_block *d_sb;
};

/* An overlayfs inode: the VFS inode is embedded, and the upper-layer dentry
 * (NULL while the file is only in a lower layer) follows it. Absent from
 * vmlinux BTF when overlayfs is a module; osprey.bpf.c checks. */
struct ovl_inode {
	struct inode vfs_inode;
	struct dentry *__upperdentry;
};

struct path {
	void *mnt;
	struct dentry *dentry;
};

struct file {
	struct path f_path;
	struct inode *f_inode;
	void *private_data;
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct files_struct {
	struct fdtable *fdt;
};

struct in6_addr {
	union {
		u8 u6_addr8[16];
	} in6_u;
};

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	u16 skc_num;
	unsigned short skc_family;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
};

struct sock {
	struct sock_common __sk_common;
	u32 sk_ack_backlog;
	u32 sk_max_ack_backlog;
};

struct sockaddr_un {
	unsigned short sun_family;
	char sun_path[108];
};

struct unix_address {
	int len;
	struct sockaddr_un name[];
};

struct unix_sock {
	struct sock sk;
	struct unix_address *addr;
	struct sock *peer;
};

struct socket {
	struct sock *sk;
};

struct rlimit {
	unsigned long rlim_cur;
	unsigned long rlim_max;
};

struct upid {
	int nr;
	void *ns;
};

/* numbers[] is a flexible array: its offset is relocated, the element
 * (one per namespace level) is read at offset + level * sizeof(upid). */
struct pid {
	unsigned int level;
	struct upid numbers[1];
};

struct tty_driver {
	int major;
	int minor_start;
};

struct tty_struct {
	struct tty_driver *driver;
	int index;
};

struct signal_struct {
	struct rlimit rlim[16];
	struct pid *pids[4];
	struct tty_struct *tty;
};

/* cgroups: a task's css_set holds one css per controller (indexed by the
 * kernel's enum cgroup_subsys_id, whose values depend on the kernel config
 * and are CO-RE relocated) and its cgroup-v2 cgroup; a cgroup's path is its
 * kernfs node's name chain. */
enum cgroup_subsys_id {
	cpuset_cgrp_id,
	cpu_cgrp_id,
	cpuacct_cgrp_id,
	io_cgrp_id,
	memory_cgrp_id,
};

struct kernfs_node {
	struct kernfs_node *parent;
	const char *name;
};

/* The parent pointer is `__parent` since Linux 6.15. */
struct kernfs_node___new {
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));

struct cgroup_root {
	unsigned int subsys_mask;
	int hierarchy_id;
};

struct cgroup {
	struct kernfs_node *kn;
	struct cgroup_root *root;
};

struct cgroup_subsys_state {
	struct cgroup *cgroup;
};

struct css_set {
	struct cgroup_subsys_state *subsys[5];
	struct cgroup *dfl_cgrp;
};

struct task_struct {
	struct pid *thread_pid;
	struct css_set *cgroups;
	pid_t pid;
	pid_t tgid;
	struct task_struct *real_parent;
	struct mm_struct *mm;
	struct files_struct *files;
	const struct cred *real_cred;
	struct signal_struct *signal;
	char comm[16];
	int exit_code;
	kuid_t loginuid;
	unsigned long min_flt;
	unsigned long maj_flt;
};

struct linux_binprm {
	const char *filename;
};

#pragma clang attribute pop

#endif
