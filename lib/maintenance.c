// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "greywall/maintenance.h"
#include "greywall/trusted_file.h"

u64 gw_table_sweep(struct gw_table *t, const struct gw_config *c, u64 now, u64 *cursor,
		   u64 max_buckets)
{
	u32 rel = gw_table_rel(t, now);
	u64 removed = 0, n;

	for (n = 0; n < max_buckets && n < t->nbuckets; n++) {
		struct gw_bucket *b = &t->buckets[*cursor];
		u32 s;

		for (s = 0; s < GW_SLOTS_PER_BUCKET; s++) {
			struct gw_slot *sl = &b->slot[s];
			u64 fp = gw_load64(&sl->fp), st;
			bool expired;

			if (fp == GW_FP_EMPTY || fp == GW_FP_TOMBSTONE ||
			    !gw_slot_read(sl, fp, &st))
				continue;
			switch (gw_state_kind(st)) {
			case GW_ST_GREY:
				expired = (u64)rel > (u64)gw_state_first(st) + c->retry_window;
				break;
			case GW_ST_PASSED:
				expired = (u64)rel > (u64)gw_state_last_min(st) * 60 + c->max_age;
				break;
			default:
				expired = false;
			}
			if (expired && gw_table_remove(t, sl, fp, st))
				removed++;
		}
		if (++*cursor >= t->nbuckets)
			*cursor = 0;
	}
	return removed;
}

#define SNAP_MAGIC   0x50414e5357594552ULL /* "REYWSNAP" */
#define SNAP_VERSION 1
static const u64 snap_key[2] = {0x736e617073686f74ULL, 0x6772657977616c6cULL};

struct snap_header {
	u64 magic;
	u32 version;
	u32 kind;
	u64 image_size; /* table header + buckets */
	u64 checksum;	/* SipHash of the image under snap_key: catches damage, not malice */
};

/* SipHash of a table image under snap_key, fed in chunks that fit its 32-bit length. */
static u64 image_checksum(const void *image, size_t size)
{
	const u8 *p = image;
	struct gw_siphash s;
	size_t done;

	gw_siphash_init(&s, snap_key[0], snap_key[1]);
	for (done = 0; done < size; done += 1u << 20) {
		size_t n = size - done < (1u << 20) ? size - done : (1u << 20);

		gw_siphash_update(&s, p + done, (u32)n);
	}
	return gw_siphash_final(&s);
}

/* read(2) stops at 2 GiB; a large table's image is bigger */
static int read_all(int fd, void *p, size_t len)
{
	u8 *c = p;

	while (len) {
		ssize_t r = read(fd, c, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		len -= (size_t)r;
	}
	return 0;
}

static int write_all(int fd, const void *p, size_t len)
{
	const u8 *c = p;

	while (len) {
		ssize_t w = write(fd, c, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		len -= (size_t)w;
	}
	return 0;
}

int gw_snapshot_write(const struct gw_table *t, const char *path, char *err, size_t errlen)
{
	size_t size = gw_table_bytes(t->nbuckets), i;
	struct snap_header h = {SNAP_MAGIC, SNAP_VERSION, t->hdr->kind, size, 0};
	u64 *image = malloc(size);
	char tmp[4096];
	int fd, rc = -1;

	if (!image) {
		snprintf(err, errlen, "snapshot: out of memory for %zu bytes", size);
		return -1;
	}
	/* Word by word with atomic loads: each word is whole; a slot caught
	 * mid-change is sorted out on restore. */
	for (i = 0; i < size / 8; i++)
		image[i] = gw_load64((u64 *)t->hdr + i);
	h.checksum = image_checksum(image, size);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/*
	 * The image holds the table secret. O_TRUNC keeps the mode of a leftover
	 * file, so set 0600 here; no symlink is followed to somewhere else.
	 */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, 0600)) {
		snprintf(err, errlen, "snapshot %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (write_all(fd, &h, sizeof(h)) || write_all(fd, image, size) || fsync(fd)) {
		snprintf(err, errlen, "snapshot %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path)) {
		snprintf(err, errlen, "snapshot rename to %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(image);
	return rc;
}

/*
 * Read and check a snapshot; its table image goes to *image (malloc'd). With a
 * capacity, the image must have the geometry that capacity gives. The checksum
 * key is in the source, so every field is checked as if forged.
 */
static int snapshot_load(const char *snap_path, u32 kind, u64 capacity, u64 **image_out, char *err,
			 size_t errlen)
{
	struct snap_header h;
	struct gw_table_header *th;
	struct stat st;
	u64 *image = NULL;
	int fd, rc = -1;

	/* greywalld's user writes it, root restores it: a regular file of one of them */
	fd = gw_trusted_open_fd(snap_path, true, err, errlen);
	if (fd < 0) {
		size_t l = strlen(err);

		snprintf(err + l, errlen - l, "; snapshot left in place");
		return -1;
	}
	if (fstat(fd, &st) || read(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) ||
	    h.magic != SNAP_MAGIC) {
		snprintf(err, errlen, "snapshot %s: not a greywall snapshot; left in place",
			 snap_path);
		goto out;
	}
	if (h.version != SNAP_VERSION || h.kind != kind) {
		snprintf(err, errlen,
			 "snapshot %s: version %u kind %u, expected version %u kind %u; "
			 "left in place",
			 snap_path, h.version, h.kind, SNAP_VERSION, kind);
		goto out;
	}
	if ((u64)st.st_size < sizeof(h) || (u64)st.st_size - sizeof(h) != h.image_size ||
	    h.image_size < GW_TABLE_HDR_SIZE || h.image_size % 8) {
		snprintf(err, errlen,
			 "snapshot %s: truncated or padded (%lld bytes); left in place", snap_path,
			 (long long)st.st_size);
		goto out;
	}
	image = malloc(h.image_size);
	if (!image || read_all(fd, image, h.image_size)) {
		snprintf(err, errlen, "snapshot %s: cannot read", snap_path);
		goto out;
	}
	if (image_checksum(image, h.image_size) != h.checksum) {
		snprintf(err, errlen, "snapshot %s: checksum mismatch (damaged); left in place",
			 snap_path);
		goto out;
	}
	th = (struct gw_table_header *)image;
	if (gw_table_header_check(th, snap_path, kind, capacity, h.image_size, err, errlen)) {
		size_t l = strlen(err);

		snprintf(err + l, errlen - l, "; snapshot left in place");
		goto out;
	}
	if (gw_table_bytes_checked(th->nbuckets) != h.image_size) {
		snprintf(err, errlen, "snapshot %s: table image of another geometry; left in place",
			 snap_path);
		goto out;
	}
	*image_out = image;
	image = NULL;
	rc = 0;
out:
	free(image);
	close(fd);
	return rc;
}

/* Copy the image's entries into t; unsettled slots become tombstones, so chains stay intact. */
static void snapshot_apply(struct gw_table *t, const u64 *image)
{
	const struct gw_table_header *th = (const struct gw_table_header *)image;
	const struct gw_bucket *src =
	    (const struct gw_bucket *)((const u8 *)image + GW_TABLE_HDR_SIZE);
	u64 i;

	t->hdr->epoch = th->epoch;
	t->epoch = th->epoch;
	t->hdr->stats = th->stats;
	for (i = 0; i < t->nbuckets; i++) {
		u32 s;

		for (s = 0; s < GW_SLOTS_PER_BUCKET; s++) {
			struct gw_slot sl = src[i].slot[s];
			u32 k = gw_state_kind(sl.state);

			if (sl.fp > GW_FP_TOMBSTONE && (k == GW_ST_NONE || k == GW_ST_DYING))
				sl = (struct gw_slot){GW_FP_TOMBSTONE, 0};
			t->buckets[i].slot[s] = sl;
		}
	}
}

int gw_snapshot_restore(const char *snap_path, const char *table_path, u32 kind, u64 capacity,
			char *err, size_t errlen)
{
	struct gw_table_map m;
	u64 *image = NULL;
	int rc;

	/* geometry checked before the table file is made: a refusal leaves nothing behind */
	if (snapshot_load(snap_path, kind, capacity, &image, err, errlen))
		return -1;
	/* a fresh file with the snapshot's secret, so every fingerprint still matches */
	rc =
	    gw_table_map_create_exact(&m, table_path, ((struct gw_table_header *)image)->nbuckets,
				      kind, ((struct gw_table_header *)image)->secret, err, errlen);
	if (rc == 0) {
		snapshot_apply(&m.table, image);
		gw_table_map_close(&m);
	}
	free(image);
	return rc ? -1 : 0;
}

int gw_snapshot_restore_into(const char *snap_path, struct gw_table *t, char *err, size_t errlen)
{
	u64 *image = NULL, live, tomb;
	const struct gw_table_header *th;

	gw_table_count(t, &live, &tomb);
	if (live) {
		snprintf(err, errlen, "the table already holds %llu entries; not restoring %s",
			 (unsigned long long)live, snap_path);
		return 1;
	}
	if (snapshot_load(snap_path, t->kind, 0, &image, err, errlen))
		return -1;
	th = (const struct gw_table_header *)image;
	if (th->nbuckets != t->nbuckets) {
		snprintf(err, errlen,
			 "snapshot %s: %llu buckets, the table has %llu; left in place", snap_path,
			 (unsigned long long)th->nbuckets, (unsigned long long)t->nbuckets);
		free(image);
		return -1;
	}
	/* the snapshot's secret first: its fingerprints only mean something under it */
	t->hdr->secret[0] = th->secret[0];
	t->hdr->secret[1] = th->secret[1];
	snapshot_apply(t, image);
	free(image);
	return 0;
}

/* State st of a table with epoch from, moved to epoch to; times before to become to. */
static u64 state_rebased(u64 st, u64 from, u64 to)
{
	u64 first = from + gw_state_first(st), last_min = from / 60 + gw_state_last_min(st);
	u64 first_rel = first > to ? first - to : 0;
	u64 last_rel_min = last_min > to / 60 ? last_min - to / 60 : 0;

	if (first_rel > 0xffffffffULL)
		first_rel = 0xffffffffULL;
	if (last_rel_min > 0xffffffULL)
		last_rel_min = 0xffffffULL;
	return gw_state_pack(gw_state_kind(st), gw_state_count(st), (u32)first_rel,
			     (u32)last_rel_min);
}

int gw_snapshot_merge_into(const char *snap_path, struct gw_table *t, u64 *restored, char *err,
			   size_t errlen)
{
	const struct gw_table_header *th;
	const struct gw_bucket *src;
	u64 *image = NULL, live, tomb, i;

	*restored = 0;
	if (snapshot_load(snap_path, t->kind, 0, &image, err, errlen))
		return -1;
	th = (const struct gw_table_header *)image;
	src = (const struct gw_bucket *)((const u8 *)image + GW_TABLE_HDR_SIZE);
	if (t->hdr->secret[0] != th->secret[0] || t->hdr->secret[1] != th->secret[1]) {
		gw_table_count(t, &live, &tomb);
		if (live) {
			snprintf(err, errlen,
				 "the table holds %llu entries under another secret than %s; not "
				 "restoring it",
				 (unsigned long long)live, snap_path);
			free(image);
			return 1;
		}
		/* nothing is keyed yet: from now on every fingerprint is the snapshot's */
		__atomic_store_n(&t->hdr->secret[0], th->secret[0], __ATOMIC_RELAXED);
		__atomic_store_n(&t->hdr->secret[1], th->secret[1], __ATOMIC_RELEASE);
	}
	for (i = 0; i < th->nbuckets; i++) {
		u32 s;

		for (s = 0; s < GW_SLOTS_PER_BUCKET; s++) {
			struct gw_slot sl = src[i].slot[s], *dst;
			u32 k = gw_state_kind(sl.state);

			/* slots caught mid-change are dropped, not guessed at */
			if (sl.fp <= GW_FP_TOMBSTONE || (k != GW_ST_GREY && k != GW_ST_PASSED))
				continue;
			dst = gw_table_claim(t, sl.fp);
			/* a state already there is newer than the snapshot's: it stays */
			if (dst && gw_cas64(&dst->state, 0,
					    state_rebased(sl.state, th->epoch, t->epoch)) == 0)
				(*restored)++;
		}
	}
	free(image);
	return 0;
}

int gw_snapshot_restore_missing(const char *snap_path, const char *const tables[2], u64 capacity,
				unsigned *restored, char *err, size_t errlen)
{
	char path[4096];
	int which;

	*restored = 0;
	for (which = 0; which < 2 && snap_path[0]; which++) {
		snprintf(path, sizeof(path), "%s%s", snap_path, which ? ".awl" : "");
		if (access(tables[which], F_OK) == 0 || access(path, F_OK) != 0)
			continue;
		if (gw_snapshot_restore(path, tables[which],
					which ? GW_TABLE_AWL : GW_TABLE_TRIPLETS,
					which ? capacity / 8 + 1024 : capacity, err, errlen))
			return -1;
		*restored |= 1u << which;
	}
	return 0;
}
