// SPDX-License-Identifier: BSD-2-Clause
/*
 * Compile check: everything the BPF programs share with user space must
 * build for -target bpf -mcpu=v3 (64-bit CAS, bounded loops, no libc). Each
 * entry point forces one family of helpers to be emitted; this object is
 * compiled, never loaded.
 */
#include <linux/bpf.h>

#include "greywall/policy.h"
#include "greywall/smtp_command.h"

#define SEC(name) __attribute__((section(name), used))

/* Big objects live in global memory: the BPF stack is 512 bytes. */
struct scratch {
	struct gw_triplet trip;
	struct gw_smtp_cmd cmd;
	u8 line[GW_LINE_CAP];
	struct gw_norm_work norm;
	struct gw_config cfg;
	u64 secret[2];
	struct gw_table triplets, awl;
	struct gw_decision d;
	struct gw_list_hits hits;
};

struct scratch scratch;

SEC("xdp") int check_parse(struct xdp_md *ctx)
{
	(void)ctx;
	gw_smtp_parse_command((gw_line_t)scratch.line, 100, &scratch.cmd);
	return scratch.cmd.verb == GW_CMD_RCPT ? XDP_TX : XDP_PASS;
}

SEC("xdp") int check_normalize(struct xdp_md *ctx)
{
	(void)ctx;
	return gw_normalize_into(&scratch.norm, scratch.cmd.path, 64, &scratch.cfg.norm, true) > 0
		   ? XDP_TX
		   : XDP_PASS;
}

SEC("xdp") int check_decide(struct xdp_md *ctx)
{
	struct gw_policy p = {&scratch.triplets, &scratch.awl, &scratch.cfg, scratch.secret};

	(void)ctx;
	gw_decide(&p, &scratch.trip, &scratch.hits, 1800000000ULL, &scratch.d);
	return gw_verdict_rejects(scratch.d.verdict) ? XDP_TX : XDP_PASS;
}

SEC("xdp") int check_decide_tls(struct xdp_md *ctx)
{
	struct gw_policy p = {&scratch.triplets, &scratch.awl, &scratch.cfg, scratch.secret};

	(void)ctx;
	gw_decide_tls(&p, &scratch.trip.net, scratch.line, 20, &scratch.hits, 1800000000ULL,
		      &scratch.d);
	return scratch.d.verdict == GW_V_GREYLIST ? XDP_TX : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
