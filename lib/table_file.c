// SPDX-License-Identifier: BSD-2-Clause
/* Creating and attaching to a shared triplet table file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "greywall/table_file.h"

#define HUGETLBFS_MAGIC_NUMBER 0x958458f6
#define HUGE_2M		       (2u << 20)

u64 gw_table_nbuckets_for(u64 capacity)
{
	u64 slots = (capacity * 100 + GW_TABLE_TARGET_LOAD_PCT - 1) / GW_TABLE_TARGET_LOAD_PCT;
	u64 nb = (slots + GW_SLOTS_PER_BUCKET - 1) / GW_SLOTS_PER_BUCKET;

	return nb < GW_TABLE_MIN_BUCKETS ? GW_TABLE_MIN_BUCKETS : nb;
}

size_t gw_table_bytes(u64 nbuckets)
{
	return GW_TABLE_HDR_SIZE + nbuckets * sizeof(struct gw_bucket);
}

size_t gw_table_bytes_checked(u64 nbuckets)
{
	size_t b;

	/* below 2^63 too, so that it compares with an off_t */
	if (__builtin_mul_overflow(nbuckets, sizeof(struct gw_bucket), &b) ||
	    __builtin_add_overflow(b, (size_t)GW_TABLE_HDR_SIZE, &b) || b > (size_t)INT64_MAX)
		return 0;
	return b;
}

static size_t round_for_fs(int fd, size_t len)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) == 0 && (unsigned long)sfs.f_type == HUGETLBFS_MAGIC_NUMBER)
		return (len + HUGE_2M - 1) & ~(size_t)(HUGE_2M - 1);
	return len;
}

static int map_fd(struct gw_table_map *m, int fd, size_t len, int flags)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | (flags & GW_TF_POPULATE ? MAP_POPULATE : 0), fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	m->map_len = len;
	m->table.hdr = p;
	m->table.buckets = (struct gw_bucket *)((u8 *)p + GW_TABLE_HDR_SIZE);
	m->table.nbuckets = m->table.hdr->nbuckets;
	m->table.kind = m->table.hdr->kind;
	m->table.epoch = m->table.hdr->epoch;
	return 0;
}

/* Build the file under a private name, then link it into place: no reader sees it half made. */
static int create_table(const char *path, u64 nb, u32 kind, int flags, const u64 secret[2],
			char *err, size_t errlen)
{
	char tmp[4096];
	struct gw_table_header *h;
	size_t len;
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.new.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return rc;
	}
	len = round_for_fs(fd, gw_table_bytes(nb));
	if (ftruncate(fd, (off_t)len) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot size %s to %zu bytes: %s", tmp, len, strerror(errno));
		goto out;
	}
	h = mmap(NULL, GW_TABLE_HDR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "cannot map %s: %s", tmp, strerror(errno));
		goto out;
	}
	h->magic = GW_TABLE_MAGIC;
	gw_table_header_geometry(h, nb, kind);
	h->created = (u64)time(NULL);
	/* Day-aligned epoch a year back: clocks stepping backwards stay positive. */
	h->epoch = (h->created / 86400) * 86400 - 365 * 86400ULL;
	if (flags & GW_TF_SECRET) {
		h->secret[0] = secret[0];
		h->secret[1] = secret[1];
	} else if (getrandom(h->secret, sizeof(h->secret), 0) != sizeof(h->secret)) {
		rc = -EIO;
		snprintf(err, errlen, "getrandom failed for the table secret");
	}
	msync(h, GW_TABLE_HDR_SIZE, MS_SYNC);
	munmap(h, GW_TABLE_HDR_SIZE);
	if (rc == 0 && link(tmp, path) != 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "cannot link %s: %s", path, strerror(errno));
	}
out:
	close(fd);
	unlink(tmp);
	return rc;
}

static const char *kind_name(u32 kind)
{
	return kind == GW_TABLE_TRIPLETS ? "triplet"
	       : kind == GW_TABLE_AWL	 ? "auto-whitelist"
					 : "?";
}

int gw_table_header_check(const struct gw_table_header *hp, const char *path, u32 kind,
			  u64 capacity, u64 avail_bytes, char *err, size_t errlen)
{
	const struct gw_table_header h = *hp;
	size_t need = gw_table_bytes_checked(h.nbuckets);
	int rc;

	rc = -EINVAL;
	if (h.magic != GW_TABLE_MAGIC)
		snprintf(err, errlen, "%s: not a greywall table (bad magic)", path);
	else if (h.version != GW_TABLE_VERSION)
		snprintf(err, errlen, "%s: table version %u, this build reads version %u", path,
			 h.version, GW_TABLE_VERSION);
	else if (h.header_size != GW_TABLE_HDR_SIZE || h.bucket_size != sizeof(struct gw_bucket) ||
		 h.slot_size != sizeof(struct gw_slot) || h.nbuckets < GW_TABLE_MIN_BUCKETS)
		snprintf(err, errlen, "%s: foreign geometry (header %u, bucket %u, slot %u)", path,
			 h.header_size, h.bucket_size, h.slot_size);
	else if (!need)
		snprintf(err, errlen,
			 "%s: %llu buckets overflow any table size (damaged or forged)", path,
			 (unsigned long long)h.nbuckets);
	else if (h.kind != kind)
		snprintf(err, errlen, "%s: holds a %s table, expected a %s table", path,
			 kind_name(h.kind), kind_name(kind));
	else if (capacity && h.nbuckets != gw_table_nbuckets_for(capacity))
		snprintf(err, errlen,
			 "%s: has %llu buckets, capacity %llu needs %llu; remove the file or match "
			 "the capacity",
			 path, (unsigned long long)h.nbuckets, (unsigned long long)capacity,
			 (unsigned long long)gw_table_nbuckets_for(capacity));
	else if (avail_bytes < need)
		snprintf(err, errlen, "%s: truncated (%lld bytes, geometry needs %zu)", path,
			 (long long)avail_bytes, need);
	else
		rc = 0;
	return rc;
}

int gw_table_map_open(struct gw_table_map *m, const char *path, u64 capacity, u32 kind, int flags,
		      const u64 secret[2], char *err, size_t errlen)
{
	struct gw_table_header h;
	struct stat st;
	int fd, rc;

	memset(m, 0, sizeof(*m));
	if (gw_table_path_is_bpf(path))
		return gw_table_bpf_open(m, path, kind, flags, secret, err, errlen);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && (flags & GW_TF_CREATE)) {
		if (capacity == 0)
			capacity = GW_TABLE_DEFAULT_CAPACITY;
		rc = create_table(path, gw_table_nbuckets_for(capacity), kind, flags, secret, err,
				  errlen);
		if (rc)
			return rc;
		fd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open table %s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		snprintf(err, errlen, "%s: too short to be a greywall table", path);
		close(fd);
		return -EINVAL;
	}
	rc = gw_table_header_check(&h, path, kind, capacity, (u64)st.st_size, err, errlen);
	if (rc == 0) {
		rc = map_fd(m, fd, gw_table_bytes(h.nbuckets), flags);
		if (rc)
			snprintf(err, errlen, "%s: mmap: %s", path, strerror(-rc));
	}
	close(fd);
	return rc;
}

/*
 * Bytes still to be allocated for a table of `bytes` at path: a table file is
 * sparse, so ftruncate succeeds on any size and the file system fills later,
 * under the daemon, as SIGBUS on a store into the mapping.
 */
static u64 bytes_to_allocate(const char *path, u64 bytes)
{
	struct stat st;
	u64 have;

	if (stat(path, &st))
		return bytes;
	have = (u64)st.st_blocks * 512;
	return have >= bytes ? 0 : bytes - have;
}

int gw_table_room_check(const char *const paths[], const u64 bytes[], int n, char *err,
			size_t errlen)
{
	u64 mem = (u64)sysconf(_SC_PHYS_PAGES) * (u64)sysconf(_SC_PAGESIZE), all = 0;
	int i, j;

	for (i = 0; i < n; i++)
		all += bytes[i];
	/* every bucket is touched by the sweeps: the tables must fit in memory */
	if (all > mem) {
		snprintf(err, errlen,
			 "the tables need %llu bytes (%s and the others); this machine has %llu "
			 "bytes of memory: lower capacity",
			 (unsigned long long)all, paths[0], (unsigned long long)mem);
		return -1;
	}
	for (i = 0; i < n; i++) {
		char dir[4096], *slash;
		struct statvfs vfs;
		struct stat sti, stj;
		u64 need = 0, avail;

		snprintf(dir, sizeof(dir), "%s", paths[i]);
		slash = strrchr(dir, '/');
		if (!slash)
			snprintf(dir, sizeof(dir), ".");
		else
			*(slash == dir ? slash + 1 : slash) = 0;
		if (statvfs(dir, &vfs) || stat(dir, &sti)) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			return -1;
		}
		/* the tables on this file system, together */
		for (j = 0; j < n; j++) {
			char dj[4096], *sj;

			snprintf(dj, sizeof(dj), "%s", paths[j]);
			sj = strrchr(dj, '/');
			if (!sj)
				snprintf(dj, sizeof(dj), ".");
			else
				*(sj == dj ? sj + 1 : sj) = 0;
			if (!stat(dj, &stj) && stj.st_dev == sti.st_dev)
				need += bytes_to_allocate(paths[j], bytes[j]);
		}
		avail = (u64)vfs.f_bavail * (u64)vfs.f_frsize;
		if (need > avail) {
			snprintf(err, errlen,
				 "%s is %llu bytes; with the other tables there, %s needs %llu "
				 "bytes more and has %llu free: lower capacity or make room",
				 paths[i], (unsigned long long)bytes[i], dir,
				 (unsigned long long)need, (unsigned long long)avail);
			return -1;
		}
	}
	return 0;
}

/* The pid holding a flock on st's file, from /proc/locks; 0 if it cannot be told. */
static long flock_holder(const struct stat *st)
{
	FILE *f = fopen("/proc/locks", "re");
	char line[256], type[16];
	unsigned maj, min;
	unsigned long ino;
	long pid, found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		/* "1: FLOCK  ADVISORY  WRITE 1234 00:19:5678 0 EOF"; waiters read "1: -> FLOCK" */
		if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%lu", type, &pid, &maj, &min, &ino) ==
			5 &&
		    !strcmp(type, "FLOCK") && ino == (unsigned long)st->st_ino &&
		    maj == major(st->st_dev) && min == minor(st->st_dev))
			found = pid;
	}
	fclose(f);
	return found;
}

/*
 * A pinned map cannot be opened (EIO), and the maps directory itself is
 * locked briefly by every list push. So a relay filter's daemon lock is on
 * the directory the maps directory is pinned in (the attach's pin root),
 * which nothing else locks: "/sys/fs/bpf/greywall" for ".../greywall/maps/triplets".
 */
static void lock_target(const char *path, char *out, size_t len)
{
	char *slash;
	int up;

	snprintf(out, len, "%s", path);
	if (!gw_table_path_is_bpf(path))
		return;
	for (up = 0; up < 2; up++) {
		slash = strrchr(out, '/');
		if (!slash || slash == out)
			break;
		*slash = 0;
	}
}

long gw_table_lock_holder(const char *table_path)
{
	struct stat st;
	char path[4096];

	lock_target(table_path, path, sizeof(path));
	return stat(path, &st) ? 0 : flock_holder(&st);
}

int gw_table_lock(const char *table_path, char *err, size_t errlen)
{
	struct stat st;
	char path[4096];
	int fd;

	lock_target(table_path, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s to lock it: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	if (errno == EWOULDBLOCK)
		snprintf(err, errlen,
			 "%s is in use by another greywalld (pid %ld); one daemon per table", path,
			 fstat(fd, &st) ? 0L : flock_holder(&st));
	else
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
	close(fd);
	return -1;
}

int gw_table_map_create_exact(struct gw_table_map *m, const char *path, u64 nbuckets, u32 kind,
			      const u64 secret[2], char *err, size_t errlen)
{
	int rc;

	memset(m, 0, sizeof(*m));
	if (access(path, F_OK) == 0) {
		snprintf(err, errlen, "%s exists; not overwriting it", path);
		return -EEXIST;
	}
	if (nbuckets < GW_TABLE_MIN_BUCKETS || !gw_table_bytes_checked(nbuckets)) {
		snprintf(err, errlen, "%s: %llu buckets is outside the possible range", path,
			 (unsigned long long)nbuckets);
		return -EINVAL;
	}
	rc = create_table(path, nbuckets, kind, GW_TF_SECRET, secret, err, errlen);
	if (rc)
		return rc;
	rc = gw_table_map_open(m, path, 0, kind, 0, NULL, err, errlen);
	if (rc)
		unlink(path); /* made here and unusable: leave nothing behind */
	return rc;
}

void gw_table_map_close(struct gw_table_map *m)
{
	if (m->table.hdr)
		munmap(m->table.hdr, m->map_len);
	memset(m, 0, sizeof(*m));
}

void gw_table_count(const struct gw_table *t, u64 *live, u64 *tombstones)
{
	u64 i, l = 0, d = 0;
	u32 s;

	for (i = 0; i < t->nbuckets; i++) {
		for (s = 0; s < GW_SLOTS_PER_BUCKET; s++) {
			u64 fp = gw_load64(&t->buckets[i].slot[s].fp);

			if (fp == GW_FP_TOMBSTONE)
				d++;
			else if (fp != GW_FP_EMPTY)
				l++;
		}
	}
	*live = l;
	*tombstones = d;
}
