// SPDX-License-Identifier: BSD-2-Clause
/*
 * The triplet table's lookup inside BPF against a BPF_MAP_TYPE_HASH holding
 * the same keys, in one run (table_lookup.bpf.c). The table is filled from
 * user space through its pinned map, with the same code greywalld uses, to
 * the load the filter's table has at 150 Ki triplets (57 %); the hash gets
 * the same fingerprints. Each program looks up 256 keys per run, all present
 * or all absent, and must find exactly what was put in.
 * Usage: table_bpf_bench TABLE_LOOKUP_OBJ [REPEAT]
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "bench_util.h"
#include "greywall/relay.h"
#include "greywall/table_file.h"

#define KEYS	 256
#define ENTRIES	 150000
#define BPFFS	 "/sys/fs/bpf"
#define BPFFS_FS 0xcafe4a11

static int run(int fd, u32 repeat, double *ns_per_lookup)
{
	u8 pkt[64] = {0};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o) || o.retval != XDP_PASS)
		return -1;
	*ns_per_lookup = (double)o.duration / KEYS;
	return 0;
}

static u64 hits(int hits_fd)
{
	u32 zero = 0;
	u64 v = 0;

	bpf_map_lookup_elem(hits_fd, &zero, &v);
	return v;
}

int main(int argc, char **argv)
{
	u32 repeat = argc > 2 ? (u32)atoi(argv[2]) : 20000, zero = 0;
	static u64 fps[ENTRIES], keys[KEYS];
	struct gw_table_map trip;
	struct bpf_object *obj;
	char pin[128], err[512];
	int table_prog, hash_prog, hash_fd, keys_fd, hits_fd, mounted = 0, rc = 1, round, i;
	struct statfs sfs;
	u64 seed = 42;

	if (argc < 2) {
		fprintf(stderr, "usage: %s table_lookup.bpf.o [repeat]\n", argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "table_bpf_bench: cannot load %s\n", argv[1]);
		return 1;
	}
	table_prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "lookup_table"));
	hash_prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "lookup_hash"));
	hash_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "bench_hash"));
	keys_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "bench_keys"));
	hits_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "bench_hits"));
	if (statfs(BPFFS, &sfs) || (unsigned long)sfs.f_type != BPFFS_FS) {
		if (mount("bpf", BPFFS, "bpf", 0, NULL)) {
			fprintf(stderr, "table_bpf_bench: cannot mount bpffs: %s\n",
				strerror(errno));
			return 1;
		}
		mounted = 1;
	}
	snprintf(pin, sizeof(pin), BPFFS "/gw-bench-%d-triplets", (int)getpid());
	if (bpf_map__pin(bpf_object__find_map_by_name(obj, "triplets"), pin) ||
	    gw_table_map_open(&trip, pin, 0, GW_TABLE_TRIPLETS, GW_TF_CREATE, NULL, err,
			      sizeof(err))) {
		fprintf(stderr, "table_bpf_bench: %s\n", err);
		goto out;
	}
	for (i = 0; i < ENTRIES; i++) {
		struct gw_slot *s;

		fps[i] = splitmix(&seed);
		s = gw_table_claim(&trip.table, fps[i]);
		if (!s) {
			fprintf(stderr, "table_bpf_bench: table full at %d\n", i);
			goto out;
		}
		gw_store64(&s->state, gw_state_pack(GW_ST_GREY, 1, (u32)i, 0));
		if (bpf_map_update_elem(hash_fd, &fps[i], s, BPF_NOEXIST)) {
			fprintf(stderr, "table_bpf_bench: hash insert: %s\n", strerror(errno));
			goto out;
		}
	}
	printf("%-30s %12s %12s %8s\n", "lookup in BPF (256 per run)", "table ns", "HASH ns",
	       "ratio");
	for (round = 0; round < 2; round++) {
		int present;

		for (present = 1; present >= 0; present--) {
			double t_ns, h_ns;
			u64 t_hits, h_hits, want = present ? KEYS : 0;

			for (i = 0; i < KEYS; i++)
				keys[i] =
				    present ? fps[splitmix(&seed) % ENTRIES] : splitmix(&seed);
			bpf_map_update_elem(keys_fd, &zero, keys, BPF_ANY);
			if (run(table_prog, repeat, &t_ns) || (t_hits = hits(hits_fd)) != want ||
			    run(hash_prog, repeat, &h_ns) || (h_hits = hits(hits_fd)) != want) {
				fprintf(stderr, "table_bpf_bench: a lookup run failed or found "
						"the wrong keys\n");
				goto out;
			}
			printf("%-30s %12.1f %12.1f %7.2fx\n",
			       present ? "present keys" : "absent keys", t_ns, h_ns, t_ns / h_ns);
		}
	}
	rc = 0;
out:
	gw_table_map_close(&trip);
	unlink(pin);
	if (mounted)
		umount(BPFFS);
	bpf_object__close(obj);
	return rc;
}
