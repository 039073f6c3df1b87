// SPDX-License-Identifier: BSD-2-Clause
/*
 * The relay filter against a bare XDP_PASS, both through BPF_PROG_TEST_RUN
 * with repeat, in one run: ns per packet and the ratio. Cases whose state
 * does not change with repetition:
 *   non-SMTP          an HTTP segment (the goal: within 1.2x of XDP_PASS);
 *   SMTP, untracked   a port-25 segment of a flow the filter never saw;
 *   RCPT resend       a retransmitted greylisted RCPT: the reply is rendered,
 *                     checksummed and written into the frame again.
 * Usage: bpf_bench GREYWALL_OBJ XDP_PASS_OBJ [REPEAT]
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greywall/compiler.h"

struct frame {
	u8 b[1600];
	u32 len;
};

static u16 fold(u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (u16)~s;
}

static u32 add(u32 s, const u8 *p, u32 n)
{
	u32 i;

	for (i = 0; i + 1 < n; i += 2)
		s += (u32)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (u32)(p[n - 1] << 8);
	return s;
}

static void build(struct frame *f, u32 src, u32 dst, u16 sp, u16 dp, u32 seq, u32 ack, u8 flags,
		  const char *pl)
{
	u32 n = pl ? (u32)strlen(pl) : 0, v;
	u8 *ip = f->b + 14, *tcp = ip + 20, ph[12];
	u16 w;

	memset(f->b, 0, sizeof(f->b));
	f->b[0] = 2, f->b[5] = 2, f->b[6] = 2, f->b[11] = 1, f->b[12] = 8;
	ip[0] = 0x45, ip[8] = 64, ip[9] = 6;
	w = htons((u16)(40 + n)), memcpy(ip + 2, &w, 2);
	v = htonl(src), memcpy(ip + 12, &v, 4);
	v = htonl(dst), memcpy(ip + 16, &v, 4);
	w = htons(fold(add(0, ip, 20))), memcpy(ip + 10, &w, 2);
	w = htons(sp), memcpy(tcp, &w, 2);
	w = htons(dp), memcpy(tcp + 2, &w, 2);
	v = htonl(seq), memcpy(tcp + 4, &v, 4);
	v = htonl(ack), memcpy(tcp + 8, &v, 4);
	tcp[12] = 0x50, tcp[13] = flags, tcp[14] = 0x10;
	memcpy(tcp + 20, pl ? pl : "", n);
	memcpy(ph, ip + 12, 8), ph[8] = 0, ph[9] = 6, ph[10] = (u8)((20 + n) >> 8),
				ph[11] = (u8)(20 + n);
	w = htons(fold(add(add(0, ph, 12), tcp, 20 + n))), memcpy(tcp + 16, &w, 2);
	f->len = 54 + n;
}

static double ns_per_pkt(int fd, const struct frame *f, u32 repeat, int *ret)
{
	u8 out[1600];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o))
		return -1;
	*ret = (int)o.retval;
	return o.duration; /* the kernel reports the mean ns per run */
}

static int prog_fd(const char *path, const char *name, struct bpf_object **obj)
{
	*obj = bpf_object__open_file(path, NULL);
	if (!*obj || bpf_object__load(*obj)) {
		fprintf(stderr, "bpf_bench: cannot load %s\n", path);
		exit(1);
	}
	return bpf_program__fd(bpf_object__find_program_by_name(*obj, name));
}

int main(int argc, char **argv)
{
	struct bpf_object *gw_obj, *pass_obj;
	struct frame http, smtp, f;
	u32 repeat = argc > 3 ? (u32)atoi(argv[3]) : 2000000, seq = 1000, sseq = 5000;
	int gw, pass, ret, tc, round;
	u8 out[1600];
	const char *rcpt = "RCPT TO:<bob@rcpt.example>\r\n";

	if (argc < 3) {
		fprintf(stderr, "usage: %s greywall.bpf.o xdp_pass.bpf.o [repeat]\n", argv[0]);
		return 2;
	}
	gw = prog_fd(argv[1], "greywall_xdp", &gw_obj);
	tc = bpf_program__fd(bpf_object__find_program_by_name(gw_obj, "greywall_tc_egress"));
	pass = prog_fd(argv[2], "xdp_pass", &pass_obj);

	build(&http, 0xc6120001, 0xc6120002, 40000, 80, 1, 1, 0x18, "GET / HTTP/1.0\r\n\r\n");
	build(&smtp, 0xc6120001, 0xc6120002, 40001, 25, 1, 1, 0x18, "DATA\r\n");

	/* a session up to a greylisted RCPT, so its retransmission can be measured */
	{
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_out = out, .data_size_out = sizeof(out));
		struct {
			int fd, client;
			u8 flags;
			const char *pl;
		} steps[] = {
		    {0, 1, 0x02, NULL},
		    {0, 0, 0x12, NULL},
		    {0, 0, 0x18, "220 mx ESMTP\r\n"},
		    {0, 1, 0x18, "EHLO c.example\r\n"},
		    {0, 0, 0x18, "250 mx\r\n"},
		    {0, 1, 0x18, "MAIL FROM:<a@s.example>\r\n"},
		    {0, 0, 0x18, "250 2.1.0 Ok\r\n"},
		};
		unsigned i;

		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			const char *pl = steps[i].pl;

			if (steps[i].client)
				build(&f, 0xc6120101, 0xc6120002, 40002, 25, seq, sseq,
				      steps[i].flags, pl);
			else
				build(&f, 0xc6120002, 0xc6120101, 25, 40002, sseq, seq,
				      steps[i].flags, pl);
			o.data_in = f.b;
			o.data_size_in = f.len;
			o.data_size_out = sizeof(out);
			bpf_prog_test_run_opts(steps[i].client ? gw : tc, &o);
			if (steps[i].client)
				seq += pl ? (u32)strlen(pl) : 1;
			else
				sseq += pl ? (u32)strlen(pl) : 1;
		}
		build(&f, 0xc6120101, 0xc6120002, 40002, 25, seq, sseq, 0x18, rcpt);
		o.data_in = f.b;
		o.data_size_in = f.len;
		o.data_size_out = sizeof(out);
		bpf_prog_test_run_opts(gw, &o);
		if (o.retval != XDP_TX) {
			fprintf(stderr, "bpf_bench: the RCPT was not greylisted (action %u)\n",
				o.retval);
			return 1;
		}
	}

	printf("%-22s %12s %12s %8s\n", "case (XDP, test_run)", "ns/pkt", "XDP_PASS", "ratio");
	for (round = 0; round < 2; round++) {
		double base = ns_per_pkt(pass, &http, repeat, &ret);
		double a = ns_per_pkt(gw, &http, repeat, &ret);
		double b = ns_per_pkt(gw, &smtp, repeat, &ret);
		double c = ns_per_pkt(gw, &f, repeat / 10, &ret);

		printf("%-22s %12.1f %12.1f %7.2fx\n", "non-SMTP", a, base, a / base);
		printf("%-22s %12.1f %12.1f %7.2fx\n", "SMTP, untracked flow", b, base, b / base);
		printf("%-22s %12.1f %12.1f %7.2fx%s\n", "RCPT resend (inject)", c, base, c / base,
		       ret == XDP_TX ? "" : "  (not XDP_TX!)");
	}
	bpf_object__close(gw_obj);
	bpf_object__close(pass_obj);
	return 0;
}
