// SPDX-License-Identifier: BSD-2-Clause
/* Creating and attaching to greywall-dp's shared counters and event rings. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "greywall/dp_shm.h"

static int map_fd(struct gw_dp_shm_map *m, int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) || (size_t)st.st_size < sizeof(struct gw_dp_shm)) {
		snprintf(err, errlen, "%s: too short to be greywall-dp's shared state", path);
		return -1;
	}
	p = mmap(NULL, sizeof(struct gw_dp_shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
		return -1;
	}
	m->shm = p;
	m->ino = (u64)st.st_ino;
	return 0;
}

int gw_dp_shm_create(struct gw_dp_shm_map *m, const char *path, u32 nlcores, u32 nports, char *err,
		     size_t errlen)
{
	char tmp[4096];
	int fd, rc;

	memset(m, 0, sizeof(*m));
	if (nlcores > GW_DP_SHM_LCORES || nports > GW_DP_SHM_PORTS) {
		snprintf(err, errlen, "%u lcores and %u ports: the shared state holds %u and %u",
			 nlcores, nports, GW_DP_SHM_LCORES, GW_DP_SHM_PORTS);
		return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.new.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0660);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	{
		/* greywalld may run as an unprivileged user of group greywall: let it in */
		struct group *g = getgrnam("greywall");

		if (g && fchown(fd, (uid_t)-1, g->gr_gid) == 0)
			fchmod(fd, 0660);
	}
	/* sparse: the rings' pages exist only once an lcore writes to them */
	rc = ftruncate(fd, (off_t)sizeof(struct gw_dp_shm));
	if (rc == 0)
		rc = map_fd(m, fd, tmp, err, errlen);
	else
		snprintf(err, errlen, "cannot size %s: %s", tmp, strerror(errno));
	close(fd);
	if (rc == 0) {
		struct gw_dp_shm *s = m->shm;

		s->version = GW_DP_SHM_VERSION;
		s->size = sizeof(*s);
		s->nlcores = nlcores;
		s->nports = nports;
		s->pid = (u64)getpid();
		s->started = s->updated = (u64)time(NULL);
		__atomic_store_n(&s->magic, GW_DP_SHM_MAGIC, __ATOMIC_RELEASE);
		if (rename(tmp, path)) {
			snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path,
				 strerror(errno));
			gw_dp_shm_close(m);
			rc = -1;
		}
	}
	if (rc)
		unlink(tmp);
	return rc;
}

int gw_dp_shm_open(struct gw_dp_shm_map *m, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), rc;

	memset(m, 0, sizeof(*m));
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	rc = map_fd(m, fd, path, err, errlen);
	close(fd);
	if (rc)
		return -1;
	if (__atomic_load_n(&m->shm->magic, __ATOMIC_ACQUIRE) != GW_DP_SHM_MAGIC ||
	    m->shm->version != GW_DP_SHM_VERSION || m->shm->size != sizeof(struct gw_dp_shm)) {
		snprintf(err, errlen, "%s: not greywall-dp's shared state of this version", path);
		gw_dp_shm_close(m);
		return -1;
	}
	return 0;
}

bool gw_dp_shm_replaced(const struct gw_dp_shm_map *m, const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && (u64)st.st_ino != m->ino;
}

void gw_dp_shm_close(struct gw_dp_shm_map *m)
{
	if (m->shm)
		munmap(m->shm, sizeof(struct gw_dp_shm));
	memset(m, 0, sizeof(*m));
}
