/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exit events of the network and I/O syscalls; included by osprey.bpf.c.
 *
 * Each syscall becomes the newest exit event type the event table has for it,
 * with all its parameters in table order. Socket tuples come from the
 * kernel's struct sock (IPv4, IPv6 and unix), oriented like the reference
 * drivers: local -> remote for what a process sends, remote -> local for
 * what it receives or accepts; an unconnected socket's remote end is taken
 * from the user sockaddr of the call. Data buffers honour the snaplen and
 * are gathered from at most NET_IOV iovecs.
 */
#pragma once

/* Event types. */
#define EV_SOCKET_X 19
#define EV_BIND_X 21
#define EV_LISTEN_X 25
#define EV_SENDTO_X 31
#define EV_RECVFROM_X 35
#define EV_SHUTDOWN_X 37
#define EV_SOCKETPAIR_X 43
#define EV_SETSOCKOPT_X 45
#define EV_GETSOCKOPT_X 47
#define EV_SENDMSG_X 49
#define EV_SENDMMSG_X 51
#define EV_RECVMSG_X 53
#define EV_RECVMMSG_X 55
#define EV_EVENTFD_X 63
#define EV_FUTEX_X 65
#define EV_EPOLLWAIT_X 79
#define EV_POLL_X 81
#define EV_SELECT_X 83
#define EV_PREAD_X 113
#define EV_PWRITE_X 115
#define EV_READV_X 117
#define EV_WRITEV_X 119
#define EV_PREADV_X 121
#define EV_PWRITEV_X 123
#define EV_SIGNALFD_X 127
#define EV_NANOSLEEP_X 135
#define EV_TIMERFD_CREATE_X 137
#define EV_INOTIFY_INIT_X 139
#define EV_FCNTL_X 151
#define EV_SPLICE_X 167
#define EV_IOCTL_3_X 171
#define EV_SENDFILE_X 189
#define EV_ACCEPT_5_X 247
#define EV_PPOLL_X 255
#define EV_EPOLL_CREATE_X 375
#define EV_EPOLL_CREATE1_X 377
#define EV_ACCEPT4_6_X 389
#define EV_INOTIFY_INIT1_X 395
#define EV_EVENTFD2_X 397
#define EV_SIGNALFD4_X 399

/* x86_64 syscall numbers. */
#define NR_poll 7
#define NR_ioctl 16
#define NR_pread64 17
#define NR_pwrite64 18
#define NR_readv 19
#define NR_writev 20
#define NR_select 23
#define NR_nanosleep 35
#define NR_sendfile 40
#define NR_socket 41
#define NR_accept 43
#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47
#define NR_shutdown 48
#define NR_bind 49
#define NR_listen 50
#define NR_socketpair 53
#define NR_setsockopt 54
#define NR_getsockopt 55
#define NR_fcntl 72
#define NR_futex 202
#define NR_epoll_create 213
#define NR_epoll_wait 232
#define NR_inotify_init 253
#define NR_ppoll 271
#define NR_splice 275
#define NR_signalfd 282
#define NR_timerfd_create 283
#define NR_eventfd 284
#define NR_accept4 288
#define NR_signalfd4 289
#define NR_eventfd2 290
#define NR_epoll_create1 291
#define NR_inotify_init1 294
#define NR_preadv 295
#define NR_pwritev 296
#define NR_recvmmsg 299
#define NR_sendmmsg 307

#define NET_IOV 8		/* iovecs gathered per buffer */
#define NET_IOV_OFF (TMP_OFF + 256)	/* scratch copy of the iovec array */
#define NET_POLL 16		/* pollfds reported per poll */
#define NET_POLL_OFF (TMP_OFF + 512)	/* scratch copy of the pollfd array */

/* x86_64 struct user_msghdr. */
struct net_msghdr {
	const void *name;
	u32 namelen;
	u32 pad;
	const void *iov;
	u64 iovlen;
	const void *control;
	u64 controllen;
	u32 flags;
	u32 pad2;
};

struct net_iovec {
	u64 base;
	u64 len;
};

/* The fd argument at index i, sign-extended like the kernel's int. */
static __always_inline s64 net_fd(struct stash *a, int i)
{
	return (s64)(s32)a->a[i];
}

/* The struct sock of an fd, or 0 when it is not a socket. */
static __always_inline struct sock *net_sock(s64 fd)
{
	struct file *f = fd_file(fd);
	struct socket *so;
	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & 0170000) != 0140000)
		return 0;
	so = BPF_CORE_READ(f, private_data);
	return so ? BPF_CORE_READ(so, sk) : 0;
}

/* SOCKTUPLE of socket `fd`: local -> remote, or remote -> local when `in`.
 * A remote port of 0 (unconnected) takes the remote end from the user
 * sockaddr `ua`, if given. */
static __always_inline void net_tuple(struct w *w, s64 fd, bool in, const void *ua)
{
	struct sock *sk = fd >= 0 ? net_sock(fd) : 0;
	u16 fam = sk ? BPF_CORE_READ(sk, __sk_common.skc_family) : 0;
	u8 *b = w->buf;
	u32 p, s, d;
	u16 lp, rp;

	if (w->off >= HALF || !sk) {
		put_empty(w);
		return;
	}
	p = w->off & (HALF - 1);
	lp = BPF_CORE_READ(sk, __sk_common.skc_num);
	rp = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (fam == 2) {
		struct { u16 fam; u16 port; u32 addr; } sin = {};
		u32 la = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		u32 ra = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		if (rp == 0 && ua && !bpf_probe_read_user(&sin, sizeof(sin), ua) && sin.fam == 2) {
			ra = sin.addr;
			rp = bpf_ntohs(sin.port);
		}
		b[p] = 2;
		*(u32 *)&b[p + 1] = in ? ra : la;
		*(u16 *)&b[p + 5] = in ? rp : lp;
		*(u32 *)&b[p + 7] = in ? la : ra;
		*(u16 *)&b[p + 11] = in ? lp : rp;
		set_len(w, 13);
	} else if (fam == 10) {
		struct { u16 fam; u16 port; u32 flow; u8 addr[16]; } sin6 = {};
		s = in ? p + 19 : p + 1;
		d = in ? p + 1 : p + 19;
		b[p] = 10;
		bpf_core_read(&b[s], 16, &sk->__sk_common.skc_v6_rcv_saddr);
		*(u16 *)&b[s + 16] = lp;
		if (rp == 0 && ua && !bpf_probe_read_user(&sin6, sizeof(sin6), ua) && sin6.fam == 10) {
			__builtin_memcpy(&b[d], sin6.addr, 16);
			rp = bpf_ntohs(sin6.port);
		} else {
			bpf_core_read(&b[d], 16, &sk->__sk_common.skc_v6_daddr);
		}
		*(u16 *)&b[d + 16] = rp;
		set_len(w, 37);
	} else if (fam == 1) {
		struct sock *peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
		struct unix_sock *named = (struct unix_sock *)(in ? sk : peer);
		struct unix_address *addr = named ? BPF_CORE_READ(named, addr) : 0;
		/* sun_path is 2 bytes into the first sockaddr_un of `name` (the
		 * offset of the flexible array itself is CO-RE relocated) */
		const char *path = addr ? (const char *)addr +
			bpf_core_field_offset(struct unix_address, name) + 2 : 0;
		char first = 0;
		long n = -1;
		b[p] = 1;
		*(u64 *)&b[p + 1] = in ? (u64)sk : (u64)peer;
		*(u64 *)&b[p + 9] = in ? (u64)peer : (u64)sk;
		if (path) {
			bpf_probe_read_kernel(&first, 1, path);
			n = bpf_probe_read_kernel_str(&b[p + 17], 108, first ? path : path + 1);
		}
		if (n <= 0) {
			b[p + 17] = 0;
			n = 1;
		}
		set_len(w, 17 + (u32)n);
	} else {
		put_empty(w);
	}
}

/* Copies the user iovec array (at most NET_IOV entries) to scratch and
 * returns the sum of its lengths; *cnt becomes the number copied (0 on
 * failure). */
static __always_inline u64 net_iov_load(struct w *w, const void *iov, u64 *cnt)
{
	struct net_iovec *v = (struct net_iovec *)&w->buf[NET_IOV_OFF];
	u64 n = *cnt > NET_IOV ? NET_IOV : *cnt, sum = 0;
	if (!iov || !n || bpf_probe_read_user(v, (n * sizeof(*v)) & 255, iov)) {
		*cnt = 0;
		return 0;
	}
	for (int i = 0; i < NET_IOV; i++) {
		if (i >= n)
			break;
		sum += v[i].len;
	}
	*cnt = n;
	return sum;
}

/* BYTEBUF of up to `want` bytes gathered from the `cnt` iovecs that
 * net_iov_load copied. */
static __always_inline void net_iov_data(struct w *w, u64 cnt, u64 want)
{
	struct net_iovec *v = (struct net_iovec *)&w->buf[NET_IOV_OFF];
	u32 base = w->off & (HALF - 1), total = 0;
	if (w->off >= HALF || !cnt) {
		put_empty(w);
		return;
	}
	if (want > MAX_PART - 1)
		want = MAX_PART - 1;
	for (int i = 0; i < NET_IOV; i++) {
		u64 n;
		if (i >= cnt || total >= want)
			break;
		n = v[i].len < want - total ? v[i].len : want - total;
		if (bpf_probe_read_user(&w->buf[base + (total & (MAX_PART - 1))], n & (MAX_PART - 1),
					(const void *)v[i].base))
			break;
		total += n;
	}
	set_len(w, total & (MAX_PART - 1));	/* total <= want: bounds it for the verifier */
}

/* A PT_DYN socket option value (index byte, then the value). */
static __always_inline void net_sockopt(struct w *w, s32 level, u8 name, const void *val, u32 len)
{
	/* PPM options whose value is a plain int. */
	const u64 ints = 0x3ffffebcddfeeULL;
	u8 *b = w->buf;
	u32 p, l;
	if (w->off >= HALF) {
		put_empty(w);
		return;
	}
	p = w->off & (HALF - 1);
	if (level == 1 && name == 4) {	/* SO_ERROR */
		s32 v = 0;
		bpf_probe_read_user(&v, sizeof(v), val);
		b[p] = 1;
		*(s64 *)&b[p + 1] = -(s64)v;
		set_len(w, 9);
	} else if (level == 1 && (name == 20 || name == 21)) {	/* SO_RCVTIMEO, SO_SNDTIMEO */
		struct { s64 sec, usec; } tv = {};
		bpf_probe_read_user(&tv, sizeof(tv), val);
		b[p] = 4;
		*(u64 *)&b[p + 1] = (u64)(tv.sec * 1000000000LL + tv.usec * 1000LL);
		set_len(w, 9);
	} else if (level == 1 && name == 53) {	/* SO_COOKIE */
		u64 v = 0;
		bpf_probe_read_user(&v, sizeof(v), val);
		b[p] = 3;
		*(u64 *)&b[p + 1] = v;
		set_len(w, 9);
	} else if (level == 1 && name < 64 && ((ints >> name) & 1)) {
		u32 v = 0;
		bpf_probe_read_user(&v, sizeof(v), val);
		b[p] = 2;
		*(u32 *)&b[p + 1] = v;
		set_len(w, 5);
	} else {
		b[p] = 0;
		l = len > 255 ? 255 : len;
		if (!val || bpf_probe_read_user(&b[p + 1], l & 255, val))
			l = 0;
		set_len(w, 1 + l);
	}
}

/* Kernel SOL_SOCKET option number -> PPM_SOCKOPT_*. */
static __always_inline u8 net_optname(s32 level, s32 name)
{
	if (level != 1)
		return 0;
	if (name >= 1 && name <= 50)
		return (u8)name;
	switch (name) {
	case 55: return 52;	/* SO_MEMINFO */
	case 57: return 53;	/* SO_COOKIE */
	case 59: return 51;	/* SO_PEERGROUPS */
	case 66: return 20;	/* SO_RCVTIMEO_NEW */
	case 67: return 21;	/* SO_SNDTIMEO_NEW */
	}
	return 0;
}

static __always_inline u8 net_fcntl_cmd(u64 cmd)
{
	if (cmd <= 12)
		return cmd == 5 ? 6 : cmd == 6 ? 8 : cmd == 7 ? 9 : cmd == 8 ? 10 :
		       cmd == 9 ? 12 : cmd == 10 ? 13 : cmd == 11 ? 15 : cmd <= 4 ? (u8)(cmd + 1) : 0;
	switch (cmd) {
	case 15: return 21;	/* F_SETOWN_EX */
	case 16: return 22;	/* F_GETOWN_EX */
	case 36: return 30;	/* F_OFD_GETLK */
	case 37: return 31;	/* F_OFD_SETLK */
	case 38: return 32;	/* F_OFD_SETLKW */
	case 1024: return 23;	/* F_SETLEASE */
	case 1025: return 24;	/* F_GETLEASE */
	case 1026: return 27;	/* F_NOTIFY */
	case 1029: return 25;	/* F_CANCELLK */
	case 1030: return 26;	/* F_DUPFD_CLOEXEC */
	case 1031: return 28;	/* F_SETPIPE_SZ */
	case 1032: return 29;	/* F_GETPIPE_SZ */
	}
	return 0;
}

static __always_inline u16 net_poll_flags(u16 f)
{
	u16 r = f & 7;		/* POLLIN, POLLPRI, POLLOUT */
	if (f & 0x2000) r |= 8;	/* POLLRDHUP */
	if (f & 0x8) r |= 16;	/* POLLERR */
	if (f & 0x10) r |= 32;	/* POLLHUP */
	if (f & 0x20) r |= 64;	/* POLLNVAL */
	if (f & 0x40) r |= 128;	/* POLLRDNORM */
	if (f & 0x80) r |= 256;	/* POLLRDBAND */
	if (f & 0x100) r |= 512;	/* POLLWRNORM */
	if (f & 0x200) r |= 1024;	/* POLLWRBAND */
	return r;
}

/* FDLIST of a user pollfd array: u16 count, then (u64 fd, u16 revents). */
static __always_inline void net_fdlist(struct w *w, const void *fds, u64 nfds)
{
	struct { s32 fd; u16 events; u16 revents; } *v = (void *)&w->buf[NET_POLL_OFF];
	u64 n = nfds > NET_POLL ? NET_POLL : nfds;
	u32 p = w->off & (HALF - 1), i;
	if (w->off >= HALF || (n && (!fds || bpf_probe_read_user(v, (n * 8) & 255, fds)))) {
		put_empty(w);
		return;
	}
	for (i = 0; i < NET_POLL; i++) {
		if (i >= n)
			break;
		*(s64 *)&w->buf[p + 2 + i * 10] = v[i].fd;
		*(u16 *)&w->buf[p + 10 + i * 10] = net_poll_flags(v[i].revents);
	}
	*(u16 *)&w->buf[p] = (u16)n;
	set_len(w, 2 + 10 * (u32)n);
}

/* RELTIME (ns) of a user struct timespec, or -1 without one. */
static __always_inline u64 net_timespec(const void *ts)
{
	struct { s64 sec, nsec; } t = {};
	if (!ts || bpf_probe_read_user(&t, sizeof(t), ts))
		return (u64)-1;
	return (u64)(t.sec * 1000000000LL + t.nsec);
}

/* The first 32 bits of a user sigset, 0 without one. */
static __always_inline u32 net_sigset(const void *set)
{
	u32 v = 0;
	if (set)
		bpf_probe_read_user(&v, sizeof(v), set);
	return v;
}

/* sendmsg, recvmsg, sendmmsg, recvmmsg: the first message's data, size,
 * tuple and control buffer. */
static __always_inline void net_msg(struct config *c, long id, struct stash *a, s64 ret)
{
	struct w w;
	struct net_msghdr m = {};
	u32 mlen = 0;
	s64 fd = net_fd(a, 0);
	bool mm = id == NR_sendmmsg || id == NR_recvmmsg;
	bool rx = id == NR_recvmsg || id == NR_recvmmsg;
	u64 cnt, total, size, want;
	u16 type = id == NR_sendmsg ? EV_SENDMSG_X : id == NR_recvmsg ? EV_RECVMSG_X :
		   id == NR_sendmmsg ? EV_SENDMMSG_X : EV_RECVMMSG_X;

	if (!ev_begin(&w, c, type, type == EV_SENDMSG_X || type == EV_SENDMMSG_X ? 5 : 6))
		return;
	if (a->a[1]) {
		bpf_probe_read_user(&m, sizeof(m), (const void *)a->a[1]);
		if (mm)	/* struct mmsghdr: msghdr then msg_len */
			bpf_probe_read_user(&mlen, sizeof(mlen), (const void *)(a->a[1] + sizeof(m)));
	}
	cnt = m.iovlen;
	total = net_iov_load(&w, m.iov, &cnt);
	if (rx) {
		size = id == NR_recvmsg ? (ret > 0 ? ret : 0) : (ret > 0 ? mlen : 0);
		want = snap(c, size);
	} else {
		size = total;
		want = snap(c, id == NR_sendmsg && ret > 0 ? (u64)ret : mm && ret > 0 ? mlen : total);
	}
	put_u64(&w, (u64)ret);
	if (mm) {
		put_u64(&w, (u64)fd);
		put_u32(&w, (u32)size);
	} else if (rx) {
		put_u32(&w, (u32)size);
	}
	if (rx && ret <= 0)
		put_empty(&w);
	else
		net_iov_data(&w, cnt, want);
	if (type == EV_SENDMSG_X) {
		put_u64(&w, (u64)fd);
		put_u32(&w, (u32)size);
	}
	if (rx && ret <= 0)
		put_empty(&w);
	else
		net_tuple(&w, fd, rx, m.name);
	if (rx) {
		if (ret > 0 && m.control)
			put_ubuf(&w, m.control, m.controllen);
		else
			put_empty(&w);
	}
	if (type == EV_RECVMSG_X)
		put_u64(&w, (u64)fd);
	ev_submit(&w);
}

/* readv, writev, preadv, pwritev. */
static __always_inline void net_vec(struct config *c, long id, struct stash *a, s64 ret)
{
	struct w w;
	bool rd = id == NR_readv || id == NR_preadv;
	bool pos = id == NR_preadv || id == NR_pwritev;
	u16 type = id == NR_readv ? EV_READV_X : id == NR_writev ? EV_WRITEV_X :
		   id == NR_preadv ? EV_PREADV_X : EV_PWRITEV_X;
	u64 cnt = a->a[2], total;

	if (!ev_begin(&w, c, type, pos ? 5 : 4))
		return;
	total = net_iov_load(&w, (const void *)a->a[1], &cnt);
	put_u64(&w, (u64)ret);
	if (rd) {
		put_u32(&w, ret > 0 ? (u32)ret : 0);
		if (ret > 0)
			net_iov_data(&w, cnt, snap(c, ret));
		else
			put_empty(&w);
		put_u64(&w, (u64)net_fd(a, 0));
	} else {
		net_iov_data(&w, cnt, snap(c, ret > 0 ? (u64)ret : total));
		put_u64(&w, (u64)net_fd(a, 0));
		put_u32(&w, (u32)total);
	}
	if (pos)
		put_u64(&w, a->a[3]);
	ev_submit(&w);
}

/* sendto, recvfrom, pread64, pwrite64: one user buffer. */
static __always_inline void net_buf(struct config *c, long id, struct stash *a, s64 ret)
{
	struct w w;
	s64 fd = net_fd(a, 0);
	bool rd = id == NR_recvfrom || id == NR_pread64;
	u16 type = id == NR_sendto ? EV_SENDTO_X : id == NR_recvfrom ? EV_RECVFROM_X :
		   id == NR_pread64 ? EV_PREAD_X : EV_PWRITE_X;
	u64 n = rd ? (ret > 0 ? (u64)ret : 0) : (ret > 0 ? (u64)ret : a->a[2]);

	if (!ev_begin(&w, c, type, 5))
		return;
	put_u64(&w, (u64)ret);
	put_ubuf(&w, (const void *)a->a[1], snap(c, n));
	if (type == EV_RECVFROM_X) {
		if (ret > 0)
			net_tuple(&w, fd, 1, (const void *)a->a[4]);
		else
			put_empty(&w);
	}
	put_u64(&w, (u64)fd);
	put_u32(&w, (u32)a->a[2]);
	if (type == EV_SENDTO_X)
		net_tuple(&w, fd, 0, (const void *)a->a[4]);
	else if (type != EV_RECVFROM_X)
		put_u64(&w, a->a[3]);
	ev_submit(&w);
}

/* accept, accept4: the new socket's tuple and the listener's queue. */
static __always_inline void net_accept(struct config *c, long id, struct stash *a, s64 ret)
{
	struct w w;
	bool four = id == NR_accept4;
	struct sock *ls = ret >= 0 ? net_sock(net_fd(a, 0)) : 0;
	u32 qlen = ls ? BPF_CORE_READ(ls, sk_ack_backlog) : 0;
	u32 qmax = ls ? BPF_CORE_READ(ls, sk_max_ack_backlog) : 0;

	if (!ev_begin(&w, c, four ? EV_ACCEPT4_6_X : EV_ACCEPT_5_X, four ? 6 : 5))
		return;
	put_u64(&w, (u64)ret);
	if (ret >= 0)
		net_tuple(&w, ret, 1, 0);
	else
		put_empty(&w);
	put_u8(&w, qlen && qmax ? (u8)((u64)qlen * 100 / qmax) : 0);
	put_u32(&w, qlen);
	put_u32(&w, qmax);
	if (four)
		put_u32(&w, (u32)a->a[3]);
	ev_submit(&w);
}

/* getsockopt, setsockopt. */
static __always_inline void net_sockopts(struct config *c, long id, struct stash *a, s64 ret)
{
	struct w w;
	s32 level = (s32)a->a[1];
	u8 name = net_optname(level, (s32)a->a[2]);
	u32 len = (u32)a->a[4];

	if (!ev_begin(&w, c, id == NR_getsockopt ? EV_GETSOCKOPT_X : EV_SETSOCKOPT_X, 6))
		return;
	if (id == NR_getsockopt) {
		len = 0;
		if (a->a[4])
			bpf_probe_read_user(&len, sizeof(len), (const void *)a->a[4]);
	}
	put_u64(&w, (u64)ret);
	put_u64(&w, (u64)net_fd(a, 0));
	put_u8(&w, level == 1 ? 1 : level == 6 ? 2 : 0);
	put_u8(&w, name);
	net_sockopt(&w, level, name, (const void *)a->a[3], len);
	put_u32(&w, len);
	ev_submit(&w);
}

/* socketpair: both fds, the first socket and its peer. */
static __always_inline void net_socketpair(struct config *c, struct stash *a, s64 ret)
{
	struct w w;
	s32 fds[2] = { -1, -1 };
	struct sock *sk = 0;

	if (ret == 0 && a->a[3])
		bpf_probe_read_user(fds, sizeof(fds), (const void *)a->a[3]);
	if (ret == 0)
		sk = net_sock(fds[0]);
	if (!ev_begin(&w, c, EV_SOCKETPAIR_X, 8))
		return;
	put_u64(&w, (u64)ret);
	put_u64(&w, (u64)(s64)fds[0]);
	put_u64(&w, (u64)(s64)fds[1]);
	put_u64(&w, (u64)sk);
	put_u64(&w, sk ? (u64)BPF_CORE_READ((struct unix_sock *)sk, peer) : 0);
	put_u32(&w, (u32)a->a[0]);
	put_u32(&w, (u32)a->a[1]);
	put_u32(&w, (u32)a->a[2]);
	ev_submit(&w);
}

/* poll, ppoll. */
static __always_inline void net_poll(struct config *c, long id, struct stash *a, s64 ret)
{
	struct w w;
	bool pp = id == NR_ppoll;
	if (!ev_begin(&w, c, pp ? EV_PPOLL_X : EV_POLL_X, pp ? 4 : 3))
		return;
	put_u64(&w, (u64)ret);
	net_fdlist(&w, (const void *)a->a[0], a->a[1]);
	if (pp) {
		put_u64(&w, net_timespec((const void *)a->a[2]));
		put_u32(&w, net_sigset((const void *)a->a[3]));
	} else {
		put_u64(&w, (u64)(s64)(s32)a->a[2]);
	}
	ev_submit(&w);
}

/* The fd-creating syscalls without a socket: eventfd, signalfd, timerfd,
 * inotify and epoll instances. */
static __always_inline void net_newfd(struct config *c, long id, struct stash *a, s64 ret)
{
	struct w w;
	u64 f = a->a[1];
	u16 type;
	u32 np = 2;
	switch (id) {
	case NR_eventfd: type = EV_EVENTFD_X; np = 3; break;
	case NR_eventfd2: type = EV_EVENTFD2_X; np = 3; break;
	case NR_signalfd: type = EV_SIGNALFD_X; np = 4; break;
	case NR_signalfd4: type = EV_SIGNALFD4_X; np = 4; f = a->a[3]; break;
	case NR_timerfd_create: type = EV_TIMERFD_CREATE_X; np = 3; break;
	case NR_inotify_init: type = EV_INOTIFY_INIT_X; break;
	case NR_inotify_init1: type = EV_INOTIFY_INIT1_X; f = a->a[0]; break;
	case NR_epoll_create: type = EV_EPOLL_CREATE_X; break;
	default: type = EV_EPOLL_CREATE1_X; f = a->a[0]; break;
	}
	if (!ev_begin(&w, c, type, np))
		return;
	put_u64(&w, (u64)ret);
	switch (type) {
	case EV_EVENTFD_X:
		put_u64(&w, a->a[0]);
		put_u32(&w, 0);
		break;
	case EV_EVENTFD2_X:	/* EFD_SEMAPHORE, EFD_NONBLOCK, EFD_CLOEXEC */
		put_u16(&w, (f & 1) | ((f & 04000) ? 2 : 0) | ((f & 02000000) ? 4 : 0));
		put_u64(&w, a->a[0]);
		break;
	case EV_SIGNALFD_X:
		put_u64(&w, (u64)net_fd(a, 0));
		put_u32(&w, net_sigset((const void *)a->a[1]));
		put_u8(&w, 0);
		break;
	case EV_SIGNALFD4_X:	/* SFD_NONBLOCK, SFD_CLOEXEC */
		put_u16(&w, ((f & 04000) ? 1 : 0) | ((f & 02000000) ? 2 : 0));
		put_u64(&w, (u64)net_fd(a, 0));
		put_u32(&w, net_sigset((const void *)a->a[1]));
		break;
	case EV_TIMERFD_CREATE_X:
		put_u8(&w, (u8)a->a[0]);
		put_u8(&w, 0);
		break;
	case EV_INOTIFY_INIT_X:
		put_u8(&w, 0);
		break;
	case EV_INOTIFY_INIT1_X:	/* IN_NONBLOCK, IN_CLOEXEC */
		put_u16(&w, ((f & 04000) ? 1 : 0) | ((f & 02000000) ? 2 : 0));
		break;
	case EV_EPOLL_CREATE_X:
		put_u32(&w, (u32)a->a[0]);
		break;
	default:	/* EPOLL_CLOEXEC */
		put_u32(&w, (f & 02000000) ? 1 : 0);
		break;
	}
	ev_submit(&w);
}

/* The remaining decoders: fixed-size parameters taken from the arguments. */
static __always_inline void net_misc(struct config *c, long id, struct stash *a, s64 ret)
{
	struct w w;
	u64 off = 0;
	u16 type;
	u32 np;
	switch (id) {
	case NR_socket: type = EV_SOCKET_X; np = 5; break;
	case NR_bind: type = EV_BIND_X; np = 3; break;
	case NR_listen: type = EV_LISTEN_X; np = 3; break;
	case NR_shutdown: type = EV_SHUTDOWN_X; np = 3; break;
	case NR_splice: type = EV_SPLICE_X; np = 5; break;
	case NR_sendfile: type = EV_SENDFILE_X; np = 5; break;
	case NR_select: type = EV_SELECT_X; np = 1; break;
	case NR_epoll_wait: type = EV_EPOLLWAIT_X; np = 2; break;
	case NR_futex: type = EV_FUTEX_X; np = 4; break;
	case NR_nanosleep: type = EV_NANOSLEEP_X; np = 2; break;
	case NR_fcntl: type = EV_FCNTL_X; np = 4; break;
	default: type = EV_IOCTL_3_X; np = 4; break;
	}
	if (type == EV_SENDFILE_X && a->a[2])
		bpf_probe_read_user(&off, sizeof(off), (const void *)a->a[2]);
	if (!ev_begin(&w, c, type, np))
		return;
	put_u64(&w, (u64)ret);
	switch (type) {
	case EV_SOCKET_X:
		put_u32(&w, (u32)a->a[0]);
		put_u32(&w, (u32)a->a[1]);
		put_u32(&w, (u32)a->a[2]);
		put_empty(&w);	/* flags */
		break;
	case EV_BIND_X:
		put_sockaddr(&w, (const void *)a->a[1], a->a[2]);
		put_u64(&w, (u64)net_fd(a, 0));
		break;
	case EV_LISTEN_X:
		put_u64(&w, (u64)net_fd(a, 0));
		put_u32(&w, (u32)a->a[1]);
		break;
	case EV_SHUTDOWN_X:
		put_u64(&w, (u64)net_fd(a, 0));
		put_u8(&w, (u8)a->a[1]);
		break;
	case EV_SPLICE_X:
		put_u64(&w, (u64)net_fd(a, 0));
		put_u64(&w, (u64)net_fd(a, 2));
		put_u64(&w, a->a[4]);
		put_u32(&w, (u32)a->a[5] & 15);
		break;
	case EV_SENDFILE_X:
		put_u64(&w, off);
		put_u64(&w, (u64)net_fd(a, 0));
		put_u64(&w, (u64)net_fd(a, 1));
		put_u64(&w, a->a[3]);
		break;
	case EV_SELECT_X:
		break;
	case EV_EPOLLWAIT_X:
		put_u64(&w, (u64)net_fd(a, 2));
		break;
	case EV_FUTEX_X: {
		u64 cmd = a->a[1] & 127;
		put_u64(&w, a->a[0]);
		put_u16(&w, (u16)((cmd <= 12 ? cmd : 0) | (a->a[1] & 384)));
		put_u64(&w, a->a[2]);
		break;
	}
	case EV_NANOSLEEP_X:
		put_u64(&w, net_timespec((const void *)a->a[0]));
		break;
	case EV_FCNTL_X:
		put_u64(&w, (u64)net_fd(a, 0));
		put_u8(&w, net_fcntl_cmd(a->a[1]));
		put_u64(&w, a->a[2]);
		break;
	default:
		put_u64(&w, (u64)net_fd(a, 0));
		put_u64(&w, a->a[1]);
		put_u64(&w, a->a[2]);
		break;
	}
	ev_submit(&w);
}

/* Emits the exit event of syscall `id` and returns 1, or returns 0
 * when this file has no decoder for it. */
static __always_inline int fill_net(struct config *c, long id, struct stash *a, s64 ret)
{
	switch (id) {
	case NR_sendmsg:
	case NR_recvmsg:
	case NR_sendmmsg:
	case NR_recvmmsg:
		net_msg(c, id, a, ret);
		return 1;
	case NR_readv:
	case NR_writev:
	case NR_preadv:
	case NR_pwritev:
		net_vec(c, id, a, ret);
		return 1;
	case NR_sendto:
	case NR_recvfrom:
	case NR_pread64:
	case NR_pwrite64:
		net_buf(c, id, a, ret);
		return 1;
	case NR_accept:
	case NR_accept4:
		net_accept(c, id, a, ret);
		return 1;
	case NR_getsockopt:
	case NR_setsockopt:
		net_sockopts(c, id, a, ret);
		return 1;
	case NR_socketpair:
		net_socketpair(c, a, ret);
		return 1;
	case NR_poll:
	case NR_ppoll:
		net_poll(c, id, a, ret);
		return 1;
	case NR_eventfd:
	case NR_eventfd2:
	case NR_signalfd:
	case NR_signalfd4:
	case NR_timerfd_create:
	case NR_inotify_init:
	case NR_inotify_init1:
	case NR_epoll_create:
	case NR_epoll_create1:
		net_newfd(c, id, a, ret);
		return 1;
	case NR_socket:
	case NR_bind:
	case NR_listen:
	case NR_shutdown:
	case NR_splice:
	case NR_sendfile:
	case NR_select:
	case NR_epoll_wait:
	case NR_futex:
	case NR_nanosleep:
	case NR_fcntl:
	case NR_ioctl:
		net_misc(c, id, a, ret);
		return 1;
	}
	return 0;
}
