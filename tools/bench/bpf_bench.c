// SPDX-License-Identifier: BSD-2-Clause
/*
 * The relay filter against a bare XDP_PASS, both through BPF_PROG_TEST_RUN
 * with repeat, in one run: ns per packet and the ratio, for segments that
 * leave no state behind:
 *   non-SMTP          an HTTP segment (the goal: within 1.2x of XDP_PASS);
 *   SMTP, untracked   a port-25 segment of a flow the filter never saw.
 * RCPT decisions are not measured here: with repeat, test_run runs every
 * repetition on the same buffer, and the first one rewrites the RCPT into
 * our reply, so the rest would time a server segment passing.
 * Usage: bpf_bench GREYWALL_OBJ XDP_PASS_OBJ [REPEAT]
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>

#include "tcp_frame.h"

static double ns_per_pkt(int fd, const struct frame *f, u32 repeat)
{
	u8 out[FRAME_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o) || o.retval != XDP_PASS)
		return -1;
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
	struct endpoint client = {.mac = {2, 0, 0, 0, 0, 1}, .ip = 0xc6120001, .port = 40000};
	struct endpoint web = {.mac = {2, 0, 0, 0, 0, 2}, .ip = 0xc6120002, .port = 80};
	struct endpoint mx = {.mac = {2, 0, 0, 0, 0, 2}, .ip = 0xc6120002, .port = 25};
	struct bpf_object *gw_obj, *pass_obj;
	struct frame http, smtp;
	u32 repeat = argc > 3 ? (u32)atoi(argv[3]) : 2000000;
	int gw, pass, round;

	if (argc < 3) {
		fprintf(stderr, "usage: %s greywall.bpf.o xdp_pass.bpf.o [repeat]\n", argv[0]);
		return 2;
	}
	{
		/* run-time accounting adds the same ~40 ns to both, flattening every ratio */
		FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");

		if (f && fgetc(f) == '1')
			fprintf(stderr, "bpf_bench: kernel.bpf_stats_enabled=1 skews the ratios; "
					"set it to 0\n");
		if (f)
			fclose(f);
	}
	gw = prog_fd(argv[1], "greywall_xdp", &gw_obj);
	pass = prog_fd(argv[2], "xdp_pass", &pass_obj);
	build4(&http, &client, &web, 1, 1, F_ACK | F_PSH, 4096, "GET / HTTP/1.0\r\n\r\n");
	build4(&smtp, &client, &mx, 1, 1, F_ACK | F_PSH, 4096, "DATA\r\n");

	printf("%-22s %12s %12s %8s\n", "case (XDP, test_run)", "ns/pkt", "XDP_PASS", "ratio");
	for (round = 0; round < 2; round++) {
		double base = ns_per_pkt(pass, &http, repeat);
		double a = ns_per_pkt(gw, &http, repeat);
		double b = ns_per_pkt(gw, &smtp, repeat);

		if (base <= 0 || a < 0 || b < 0) {
			fprintf(stderr, "bpf_bench: a run failed or did not pass\n");
			return 1;
		}
		printf("%-22s %12.1f %12.1f %7.2fx\n", "non-SMTP", a, base, a / base);
		printf("%-22s %12.1f %12.1f %7.2fx\n", "SMTP, untracked flow", b, base, b / base);
	}
	bpf_object__close(gw_obj);
	bpf_object__close(pass_obj);
	return 0;
}
