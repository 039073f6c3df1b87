/* SPDX-License-Identifier: BSD-2-Clause */
/* A triplet table in a shared file mapping (/dev/shm or hugetlbfs). User space only. */
#ifndef GREYWALL_TABLE_FILE_H
#define GREYWALL_TABLE_FILE_H

#include <stddef.h>

#include "table.h"

#define GW_TABLE_DEFAULT_PATH	  "/dev/shm/greywall-triplets"
#define GW_AWL_DEFAULT_PATH	  "/dev/shm/greywall-awl"
#define GW_TABLE_DEFAULT_CAPACITY (1u << 20)
/* Buckets are sized for this fill at the nominal capacity. */
#define GW_TABLE_TARGET_LOAD_PCT 80

enum gw_table_open_flags {
	GW_TF_CREATE = 1, /* create when missing */
	GW_TF_SECRET = 2, /* take the secret given instead of drawing one */
	/* fault every page in now, so a packet path never waits on the kernel for one */
	GW_TF_POPULATE = 4,
};

struct gw_table_map {
	struct gw_table table;
	size_t map_len;
};

u64 gw_table_nbuckets_for(u64 capacity);
size_t gw_table_bytes(u64 nbuckets);
/* The same, or 0 if it overflows: for a bucket count read from a file. */
size_t gw_table_bytes_checked(u64 nbuckets);

/*
 * Will tables of these sizes fit? Their file systems' free space (a sparse
 * table file fills its file system later, as SIGBUS) and this machine's memory.
 * 0, or -1 with the numbers in err.
 */
int gw_table_room_check(const char *const paths[], const u64 bytes[], int n, char *err,
			size_t errlen);

/*
 * One greywalld per table: an exclusive flock on the table file (for the
 * relay filter's maps, on the directory their maps directory is pinned in),
 * held by the returned fd for the daemon's life (greywall-dp and greyctl map
 * the table without it). -1 with the holder's pid in err if another has it.
 */
int gw_table_lock(const char *path, char *err, size_t errlen);

/* The pid of the greywalld holding path's lock, or 0: how greyctl finds the daemon of a table. */
long gw_table_lock_holder(const char *path);

/*
 * Open or create the table at path. capacity 0 takes the file's geometry;
 * otherwise a file of another geometry, kind or version is refused with a
 * message in err. Returns 0 or -errno.
 */
int gw_table_map_open(struct gw_table_map *m, const char *path, u64 capacity, u32 kind, int flags,
		      const u64 secret[2], char *err, size_t errlen);
/* Create a new table of exactly nbuckets with the given secret; refuses an existing file. */
int gw_table_map_create_exact(struct gw_table_map *m, const char *path, u64 nbuckets, u32 kind,
			      const u64 secret[2], char *err, size_t errlen);
void gw_table_map_close(struct gw_table_map *m);

/*
 * Whether header h (from path, avail_bytes long) is a kind table this build
 * reads, of the geometry capacity asks for (0: any). Returns 0 or -EINVAL
 * with the reason in err.
 */
int gw_table_header_check(const struct gw_table_header *h, const char *path, u32 kind, u64 capacity,
			  u64 avail_bytes, char *err, size_t errlen);

/*
 * The relay filter's tables are BPF_F_MMAPABLE array maps pinned on bpffs
 * (bpf/maps.h); gw_table_map_open opens a path there with gw_table_bpf_open,
 * which maps the map and, with GW_TF_CREATE, lays its header out if no
 * packet has done so yet (with the given secret under GW_TF_SECRET).
 */
int gw_table_path_is_bpf(const char *path);
int gw_table_bpf_open(struct gw_table_map *m, const char *path, u32 kind, int flags,
		      const u64 secret[2], char *err, size_t errlen);

/* Live entries and tombstones, by a full scan. */
void gw_table_count(const struct gw_table *t, u64 *live, u64 *tombstones);

#endif /* GREYWALL_TABLE_FILE_H */
