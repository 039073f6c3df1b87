// SPDX-License-Identifier: BSD-2-Clause
/*
 * Opening the relay filter's triplet and auto-whitelist tables: BPF array
 * maps with BPF_F_MMAPABLE, pinned on bpffs, whose memory has the layout of a
 * table file. Once mapped, greywalld and greyctl use them with the same code
 * as the files of greywall-dp. Raw bpf(2) calls keep libbpf out of the
 * library every binary links.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "greywall/relay.h"
#include "greywall/table_file.h"

#define BPF_FS_MAGIC_NUMBER 0xcafe4a11

int gw_table_path_is_bpf(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && (unsigned long)sfs.f_type == BPF_FS_MAGIC_NUMBER;
}

static int bpf_obj_get_path(const char *path)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.pathname = (u64)(unsigned long)path;
	return (int)syscall(SYS_bpf, BPF_OBJ_GET, &attr, sizeof(attr));
}

static int bpf_map_info_of(int fd, struct bpf_map_info *info)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	memset(info, 0, sizeof(*info));
	attr.info.bpf_fd = (u32)fd;
	attr.info.info_len = sizeof(*info);
	attr.info.info = (u64)(unsigned long)info;
	return (int)syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr));
}

/*
 * The filter lays a header out on its first decision; if user space comes
 * first it does the same, with the same protocol: whoever moves 'created'
 * from 0 owns the layout and publishes it by writing the magic last.
 */
static int lay_out(struct gw_table_header *h, u64 nbuckets, u32 kind, const u64 *secret)
{
	struct timespec ts;
	u64 now;
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (u64)ts.tv_sec;
	if (gw_cas64(&h->created, 0, now) == 0) {
		gw_table_header_geometry(h, nbuckets, kind);
		h->epoch = now;
		if (secret) {
			h->secret[0] = secret[0];
			h->secret[1] = secret[1];
		} else if (getrandom(h->secret, sizeof(h->secret), 0) != sizeof(h->secret)) {
			return -EIO;
		}
		gw_cas64(&h->magic, h->magic, GW_TABLE_MAGIC);
		return 0;
	}
	/* the filter is laying it out right now */
	for (i = 0; i < 1000 && gw_load64(&h->magic) != GW_TABLE_MAGIC; i++)
		usleep(1000);
	return 0;
}

int gw_table_bpf_open(struct gw_table_map *m, const char *path, u32 kind, int flags,
		      const u64 secret[2], char *err, size_t errlen)
{
	struct bpf_map_info info;
	size_t len, page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;
	int fd, rc;

	memset(m, 0, sizeof(*m));
	fd = bpf_obj_get_path(path);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open pinned map %s: %s", path, strerror(errno));
		return rc;
	}
	if (bpf_map_info_of(fd, &info) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot read map info: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (info.type != BPF_MAP_TYPE_ARRAY || !(info.map_flags & BPF_F_MMAPABLE) ||
	    info.value_size != sizeof(struct gw_bucket) ||
	    info.max_entries < GW_RELAY_HDR_ELEMS + GW_TABLE_MIN_BUCKETS) {
		snprintf(err, errlen,
			 "%s: not a greywall table map (want an mmapable array of %zu-byte values, "
			 "found type %u, flags %#x, value size %u, %u entries)",
			 path, sizeof(struct gw_bucket), info.type, info.map_flags, info.value_size,
			 info.max_entries);
		close(fd);
		return -EINVAL;
	}
	len = ((size_t)info.max_entries * info.value_size + page - 1) & ~(page - 1);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
		return rc;
	}
	rc = 0;
	if (gw_load64(&((struct gw_table_header *)p)->magic) != GW_TABLE_MAGIC) {
		if (!(flags & GW_TF_CREATE)) {
			snprintf(err, errlen,
				 "%s: not laid out yet: the relay filter has decided nothing and "
				 "greywalld has not started",
				 path);
			munmap(p, len);
			return -ENOENT;
		}
		rc = lay_out(p, info.max_entries - GW_RELAY_HDR_ELEMS, kind,
			     (flags & GW_TF_SECRET) ? secret : NULL);
		if (rc)
			snprintf(err, errlen, "%s: cannot draw a table secret", path);
	}
	if (rc == 0)
		rc = gw_table_header_check(p, path, kind, 0,
					   (u64)info.max_entries * info.value_size, err, errlen);
	if (rc) {
		munmap(p, len);
		return rc;
	}
	m->map_len = len;
	m->table.hdr = p;
	m->table.buckets = (struct gw_bucket *)((u8 *)p + GW_TABLE_HDR_SIZE);
	m->table.nbuckets = m->table.hdr->nbuckets;
	m->table.kind = kind;
	m->table.epoch = m->table.hdr->epoch;
	return 0;
}
