// SPDX-License-Identifier: BSD-2-Clause
/*
 * A bare XDP_PASS: the baseline of the relay filter's bench, and the program
 * the e2e test puts on the far veth so that frames sent with XDP_TX are
 * received there (veth needs an XDP program on the peer, as in the kernel
 * selftests).
 */
#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))

SEC("xdp") int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
