/* SPDX-License-Identifier: GPL-2.0 */
/* Exit events of the network and I/O syscalls; included by osprey.bpf.c. */
#pragma once

/* Emits the exit event of syscall `id` and returns 1, or returns 0
 * when this file has no decoder for it. */
static __always_inline int fill_net(struct config *c, long id, struct stash *a, s64 ret)
{
	return 0;
}
