/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Table upkeep that only the control plane does: expiry sweeps and
 * snapshots. User space only; the data paths never wait on either.
 */
#ifndef GREYWALL_MAINTENANCE_H
#define GREYWALL_MAINTENANCE_H

#include <stddef.h>

#include "policy.h"
#include "table_file.h"

/*
 * Expire up to max_buckets buckets from *cursor on (wrapping), so a sweep of
 * a large table is spread over many small steps. Waiting entries go after the
 * retry window, passed ones max_age after they were last seen. Each removal
 * is a CAS from the exact state judged expired: a refresh that races it wins.
 * Returns the entries removed.
 */
u64 gw_table_sweep(struct gw_table *t, const struct gw_config *c, u64 now, u64 *cursor,
		   u64 max_buckets);

/*
 * Snapshot file: a header (magic, version, sizes, SipHash of the body) and
 * the table image. Written to PATH.tmp, fsync'd, renamed over PATH: a crash
 * leaves the old snapshot or the new one, never half of one. Mode 0600: the
 * image holds the table secret.
 */
int gw_snapshot_write(const struct gw_table *t, const char *path, char *err, size_t errlen);

/*
 * Create the table file at table_path from a snapshot. A snapshot that is
 * corrupt, foreign or of another version is refused with a reason and left
 * where it is, and so is one whose geometry is not the one capacity gives
 * (0: any); no table file is left behind then. Slots caught mid-change are
 * dropped, not guessed at.
 */
int gw_snapshot_restore(const char *snap_path, const char *table_path, u32 kind, u64 capacity,
			char *err, size_t errlen);

/*
 * After a reboot /dev/shm is empty: make each table file that is missing
 * (tables[0] the triplets, tables[1] the auto-whitelist) from its snapshot,
 * snap_path and snap_path + ".awl", so whoever starts first, greywalld or
 * greywall-dp, finds the triplets of before. Bit 0 of *restored is set if the
 * triplet table was made so, bit 1 for the auto-whitelist. 0, or -1 with the
 * reason in err (a bad snapshot is left in place).
 */
int gw_snapshot_restore_missing(const char *snap_path, const char *const tables[2], u64 capacity,
				unsigned *restored, char *err, size_t errlen);

/*
 * Restore a snapshot into a table that exists but holds nothing (the relay
 * filter's map after a reboot and a fresh attach): secret, epoch and entries.
 * Returns 0, 1 if the table is not empty (nothing done, the reason in err),
 * or -1 for a bad snapshot (left in place).
 */
int gw_snapshot_restore_into(const char *snap_path, struct gw_table *t, char *err, size_t errlen);

/*
 * Bring a snapshot into a table another process made and may be using right
 * now (greywall-dp, started before greywalld after a reboot). Entries are
 * claimed one at a time as any writer claims them, so an entry the table
 * already holds wins over the snapshot's, and timestamps are moved to the
 * table's own epoch (other processes keep the epoch they read at open). The
 * fingerprints mean something only under the snapshot's secret: a table with
 * another secret takes it if it holds no entry yet, and is refused otherwise.
 * Returns 0 with the entries brought in *restored, 1 if the table holds
 * entries under another secret (nothing done, the reason in err), or -1 for
 * a bad snapshot (left in place).
 */
int gw_snapshot_merge_into(const char *snap_path, struct gw_table *t, u64 *restored, char *err,
			   size_t errlen);

#endif /* GREYWALL_MAINTENANCE_H */
