// SPDX-License-Identifier: BSD-2-Clause
/*
 * Any bytes as a snapshot file, restored with gw_snapshot_restore into a
 * table path in a directory made once under /dev/shm (removed at exit). The
 * checksum key is in the source, so the harness forges the checksum as an
 * attacker would: every header field is reached. The kind and the capacity
 * asked for (0: any, or the smallest) come from the first byte, which is not
 * part of the file. Invariants: a refusal has a reason, leaves no table
 * behind and the snapshot where it was; a restored table opens with a sane
 * header geometry and can be scanned whole.
 */
#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "greywall/maintenance.h"
#include "greywall/siphash.h"
#include "greywall/table_file.h"

/* the snapshot file header (lib/maintenance.c): magic, version, kind, image size, checksum */
#define SNAP_HDR       32
#define SNAP_CHECKSUM  24
#define SNAP_KEY0      0x736e617073686f74ULL
#define SNAP_KEY1      0x6772657977616c6cULL
#define SNAP_MAX_BYTES (SNAP_HDR + GW_TABLE_HDR_SIZE + 64 * 64)

static char dir[] = "/dev/shm/gw-fuzz-snap-XXXXXX";
static char snap[64], table[64];

static void cleanup(void)
{
	unlink(snap);
	unlink(table);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	snprintf(snap, sizeof(snap), "%s/greywall.snap", dir);
	snprintf(table, sizeof(table), "%s/triplets", dir);
	atexit(cleanup);
	return 0;
}

static u64 checksum(const u8 *image, size_t size)
{
	struct gw_siphash s;

	gw_siphash_init(&s, SNAP_KEY0, SNAP_KEY1);
	gw_siphash_update(&s, image, (u32)size);
	return gw_siphash_final(&s);
}

static void check_table(u32 kind, u64 capacity)
{
	const struct gw_table_header *h;
	struct gw_table_map m;
	u64 live, tomb;
	char err[512];
	struct stat st;

	if (gw_table_map_open(&m, table, 0, kind, 0, NULL, err, sizeof(err)))
		fprintf(stderr, "restored table does not open: %s\n", err), abort();
	h = m.table.hdr;
	assert(h->kind == kind && h->nbuckets == m.table.nbuckets);
	assert(h->nbuckets >= GW_TABLE_MIN_BUCKETS);
	assert(h->header_size == GW_TABLE_HDR_SIZE && h->bucket_size == sizeof(struct gw_bucket));
	assert(!capacity || h->nbuckets == gw_table_nbuckets_for(capacity));
	assert(gw_table_bytes_checked(h->nbuckets) && m.map_len >= gw_table_bytes(h->nbuckets));
	assert(stat(table, &st) == 0 && (u64)st.st_size >= gw_table_bytes(h->nbuckets));
	gw_table_count(&m.table, &live, &tomb);
	assert(live + tomb <= h->nbuckets * GW_SLOTS_PER_BUCKET);
	gw_table_map_close(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	u32 kind;
	u64 capacity, sum;
	char err[512];
	struct stat st;
	u8 *file;
	int fd, rc;

	if (size < 1 || size - 1 > SNAP_MAX_BYTES)
		return 0;
	kind = data[0] & 1 ? GW_TABLE_AWL : GW_TABLE_TRIPLETS;
	capacity = data[0] & 2 ? 1 : 0; /* 1: the smallest geometry */
	file = malloc(size);
	memcpy(file, data + 1, size - 1);
	if (size - 1 >= SNAP_HDR) {
		sum = checksum(file + SNAP_HDR, size - 1 - SNAP_HDR);
		memcpy(file + SNAP_CHECKSUM, &sum, 8);
	}
	fd = open(snap, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert(fd >= 0);
	assert(write(fd, file, size - 1) == (ssize_t)(size - 1));
	close(fd);
	free(file);
	memset(err, 0xa5, sizeof(err));
	rc = gw_snapshot_restore(snap, table, kind, capacity, err, sizeof(err));
	assert(rc == 0 || rc == -1);
	if (rc == 0) {
		check_table(kind, capacity);
		assert(unlink(table) == 0);
	} else {
		assert(memchr(err, 0, sizeof(err)) && err[0]);
		assert(stat(table, &st) == -1); /* nothing left behind */
	}
	assert(stat(snap, &st) == 0 && (size_t)st.st_size == size - 1); /* left in place */
	return 0;
}
