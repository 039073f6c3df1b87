// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>

#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "flow.h"

int gw_flow_table_init(struct gw_flow_table *t, uint32_t cap, int socket, const char *name)
{
	struct rte_hash_parameters p = {
	    .name = name,
	    .entries = cap * 2, /* headroom: cuckoo inserts fail near full */
	    .key_len = sizeof(struct gw_flow_key),
	    .hash_func = rte_hash_crc,
	    .socket_id = socket,
	};
	uint32_t i;

	memset(t, 0, sizeof(*t));
	t->hash = rte_hash_create(&p);
	t->flows = rte_zmalloc_socket(name, (size_t)cap * sizeof(struct gw_flow), 64, socket);
	t->free_stack = rte_malloc_socket(name, (size_t)cap * sizeof(uint32_t), 64, socket);
	if (!t->hash || !t->flows || !t->free_stack) {
		gw_flow_table_free(t);
		return -1;
	}
	/*
	 * Without hugepages EAL memory is faulted in on first touch: touch it here,
	 * or every new flow pays a page fault on the packet path.
	 */
	memset(t->flows, 0, (size_t)cap * sizeof(struct gw_flow));
	t->cap = cap;
	for (i = 0; i < cap; i++)
		t->free_stack[i] = cap - 1 - i;
	t->nfree = cap;
	return 0;
}

void gw_flow_table_free(struct gw_flow_table *t)
{
	rte_hash_free(t->hash);
	rte_free(t->flows);
	rte_free(t->free_stack);
	memset(t, 0, sizeof(*t));
}

struct gw_flow *gw_flow_lookup(struct gw_flow_table *t, const struct gw_flow_key *k)
{
	void *data;

	if (rte_hash_lookup_data(t->hash, k, &data) < 0)
		return NULL;
	return &t->flows[(uintptr_t)data];
}

struct gw_flow *gw_flow_create(struct gw_flow_table *t, const struct gw_flow_key *k)
{
	struct gw_flow *f;
	uint32_t idx;

	if (t->nfree == 0)
		return NULL;
	idx = t->free_stack[t->nfree - 1];
	if (rte_hash_add_key_data(t->hash, k, (void *)(uintptr_t)idx) < 0)
		return NULL;
	t->nfree--;
	f = &t->flows[idx];
	/* the parser's line buffers need no clearing; everything before them does */
	memset(f, 0, offsetof(struct gw_flow, smtp));
	f->key = *k;
	f->idx = idx;
	f->in_use = 1;
	return f;
}

void gw_flow_destroy(struct gw_flow_table *t, struct gw_flow *f)
{
	rte_hash_del_key(t->hash, &f->key);
	f->in_use = 0;
	t->free_stack[t->nfree++] = f->idx;
}
