/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * EAL leaves its runtime directory (/var/run/dpdk/<file-prefix>: config and
 * fbarray files, megabytes with --no-huge) after rte_eal_cleanup(). Tests and
 * benchmarks, which run under a prefix of their own, remove it with this.
 */
#ifndef GREYWALL_DP_EAL_RUNTIME_H
#define GREYWALL_DP_EAL_RUNTIME_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Copy rte_eal_get_runtime_dir() before rte_eal_cleanup(), remove it after. */
static inline void gw_eal_remove_runtime_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path))
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

#endif /* GREYWALL_DP_EAL_RUNTIME_H */
