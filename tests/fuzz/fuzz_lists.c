// SPDX-License-Identifier: BSD-2-Clause
/*
 * Any bytes as a whitelist file, loaded with gw_lists_load_files from a file
 * in a directory made once (removed at exit), and as a pools file. Invariants:
 * a refusal says file:line; a loaded set holds well-formed entries, each found
 * again by its own lookup (a pool's network finds its pool, by name too), and
 * lookups of other names stay in bounds.
 */
#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "greywall/lists.h"
#include "greywall/normalize.h"

static char dir[] = "/tmp/gw-fuzz-lists-XXXXXX";
static char path[64], pools_path[64];

static void cleanup(void)
{
	unlink(path);
	unlink(pools_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/white.txt", dir);
	snprintf(pools_path, sizeof(pools_path), "%s/pools.txt", dir);
	atexit(cleanup);
	return 0;
}

/* every entry must be well formed and what its own lookup finds */
static int check_entry(const struct gw_list_entry *e, void *arg)
{
	const struct gw_lists *l = arg;
	u8 net[16];

	assert(e->colors == 1 << GW_WHITE);
	switch (e->type) {
	case 'C':
		assert(e->family == GW_AF_INET || e->family == GW_AF_INET6);
		assert(e->prefix <= (e->family == GW_AF_INET ? 32 : 128));
		memcpy(net, e->net, 16);
		assert(gw_lists_client_colors(l, e->family, net, e->prefix) == e->colors);
		break;
	case 'S':
	case 'R':
		assert(e->addr_len > 0 && e->addr_len <= GW_ADDR_MAX);
		assert(gw_lists_address_colors(l, e->type, e->addr, e->addr_len) == e->colors);
		break;
	default:
		assert(0);
	}
	return 0;
}

/* every pool entry is a network, uncoloured, whose own lookup finds its named pool */
static int check_pool_entry(const struct gw_list_entry *e, void *arg)
{
	const struct gw_lists *l = arg;
	u8 net[16], colors;
	u64 pool;

	assert(e->type == 'C' && e->colors == 0 && e->pool != 0);
	assert(e->prefix <= (e->family == GW_AF_INET ? 32 : 128));
	memcpy(net, e->net, 16);
	gw_lists_client_lookup(l, e->family, net, e->prefix, &colors, &pool);
	assert(pool == e->pool && colors == 0);
	assert(gw_lists_pool_name(l, pool) != NULL);
	return 0;
}

static void load_as_pools(const uint8_t *data, size_t size)
{
	struct gw_lists *l;
	char err[512];
	int fd = open(pools_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert(fd >= 0);
	assert(write(fd, data, size) == (ssize_t)size);
	close(fd);
	memset(err, 0xa5, sizeof(err));
	l = gw_lists_load_all(NULL, NULL, pools_path, err, sizeof(err));
	if (!l) {
		assert(memchr(err, 0, sizeof(err)));
		assert(!strncmp(err, pools_path, strlen(pools_path)));
		return;
	}
	assert(gw_lists_foreach(l, check_pool_entry, l) == 0);
	gw_lists_free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const u8 v4[16] = {192, 0, 2, 1}, v6[16] = {0xfd, 0, 0, 0x18, [15] = 1};
	struct gw_list_hits hits;
	struct gw_lists *l;
	char err[512];
	int fd;

	if (size > 64 * 1024)
		return 0;
	load_as_pools(data, size);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert(fd >= 0);
	assert(write(fd, data, size) == (ssize_t)size);
	close(fd);
	memset(err, 0xa5, sizeof(err));
	l = gw_lists_load_files(path, NULL, err, sizeof(err));
	if (!l) {
		assert(memchr(err, 0, sizeof(err)));
		assert(!strncmp(err, path, strlen(path)) && err[strlen(path)] == ':');
		return 0;
	}
	assert(gw_lists_foreach(l, check_entry, l) == 0);
	gw_lists_match(l, GW_AF_INET, v4, (const u8 *)"a@a.example", 11, (const u8 *)"b@b.example",
		       11, &hits);
	gw_lists_match(l, GW_AF_INET6, v6, (const u8 *)"", 0, (const u8 *)"postmaster@b.example",
		       20, &hits);
	/* the input's own bytes as names: any length up to the address limit */
	if (size <= GW_ADDR_MAX)
		gw_lists_match(l, GW_AF_INET, v4, data, (u16)size, data, (u16)size, &hits);
	gw_lists_free(l);
	return 0;
}
