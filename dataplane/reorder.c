// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>

#include "reorder.h"

/* Sequence-space comparisons: offsets wrap. */
static int lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static uint32_t end_of(const struct gw_ooo_range *r)
{
	return r->off + r->len;
}

/* Insert [off, off+len) as a new range, keeping the array sorted. */
static int insert(struct gw_ooo *o, struct rte_mempool *pool, uint32_t off, const uint8_t *data,
		  uint32_t len)
{
	void *buf;
	unsigned i;

	if (o->n == GW_OOO_RANGES || len > GW_OOO_BUF_SIZE || rte_mempool_get(pool, &buf))
		return -1;
	for (i = o->n; i > 0 && lt(off, o->r[i - 1].off); i--)
		o->r[i] = o->r[i - 1];
	o->r[i] = (struct gw_ooo_range){off, (uint16_t)len, buf};
	memcpy(buf, data, len);
	o->n++;
	return 0;
}

int gw_ooo_store(struct gw_ooo *o, struct rte_mempool *pool, uint32_t off, const uint8_t *data,
		 uint32_t len)
{
	uint32_t cur = off, end = off + len, starts[GW_OOO_RANGES + 1], ends[GW_OOO_RANGES + 1];
	unsigned i, k, npieces = 0;

	/* the parts of [off, end) no stored range covers: stored ones win */
	for (i = 0; i < o->n && lt(cur, end); i++) {
		const struct gw_ooo_range *r = &o->r[i];

		if (!lt(cur, end_of(r)))
			continue;
		if (lt(cur, r->off)) {
			if (npieces == GW_OOO_RANGES + 1)
				return -1;
			starts[npieces] = cur;
			ends[npieces++] = lt(r->off, end) ? r->off : end;
		}
		cur = end_of(r);
	}
	if (lt(cur, end)) {
		if (npieces == GW_OOO_RANGES + 1)
			return -1;
		starts[npieces] = cur;
		ends[npieces++] = end;
	}
	if (o->n + npieces > GW_OOO_RANGES)
		return -1;
	for (k = 0; k < npieces; k++)
		if (insert(o, pool, starts[k], data + (starts[k] - off), ends[k] - starts[k]))
			return -1; /* only if the pool ran dry: what was stored stays valid */
	return 0;
}

uint32_t gw_ooo_overlay(const struct gw_ooo *o, uint32_t off, uint8_t *data, uint32_t len)
{
	uint32_t end = off + len, n = 0;
	unsigned i;

	for (i = 0; i < o->n; i++) {
		const struct gw_ooo_range *r = &o->r[i];
		uint32_t from = lt(r->off, off) ? off : r->off;
		uint32_t to = lt(end_of(r), end) ? end_of(r) : end;

		if (!lt(from, to))
			continue;
		memcpy(data + (from - off), r->buf + (from - r->off), to - from);
		n += to - from;
	}
	return n;
}

uint32_t gw_ooo_take(struct gw_ooo *o, struct rte_mempool *pool, uint32_t next, uint8_t *out,
		     uint32_t cap)
{
	unsigned i;

	for (i = 0; i < o->n; i++) {
		struct gw_ooo_range *r = &o->r[i];
		uint32_t n = 0;

		if (lt(next, r->off))
			return 0; /* sorted: the stream has not reached any later one either */
		if (lt(next, end_of(r))) {
			n = end_of(r) - next;
			if (n > cap)
				n = cap;
			memcpy(out, r->buf + (next - r->off), n);
		}
		/* taken, or entirely behind the stream already: either way it goes */
		rte_mempool_put(pool, r->buf);
		memmove(r, r + 1, (o->n - i - 1) * sizeof(*r));
		o->n--;
		if (n)
			return n;
		i--;
	}
	return 0;
}

void gw_ooo_clear(struct gw_ooo *o, struct rte_mempool *pool)
{
	unsigned i;

	for (i = 0; i < o->n; i++)
		rte_mempool_put(pool, o->r[i].buf);
	o->n = 0;
}
