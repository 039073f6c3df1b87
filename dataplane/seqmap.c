// SPDX-License-Identifier: BSD-2-Clause
#include <stddef.h>
#include <string.h>

#include "seqmap.h"

/* Stream offsets stay below 2^31 apart within a flow; compare by signed difference. */
static inline bool before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

struct gw_edit *gw_seqmap_add(struct gw_seqmap *m, uint8_t kind, uint32_t off, uint16_t len,
			      uint8_t ref)
{
	struct gw_edit *e;

	if (m->n >= GW_SEQMAP_MAX || len == 0)
		return NULL;
	if (m->n) {
		const struct gw_edit *last = &m->e[m->n - 1];
		uint32_t last_end =
		    last->kind == GW_EDIT_REMOVE ? last->off + last->len : last->off;

		if (before(off, last_end))
			return NULL;
	}
	e = &m->e[m->n++];
	e->off = off;
	e->len = len;
	e->kind = kind;
	e->ref = ref;
	e->new_off = off + (uint32_t)m->total;
	m->total += kind == GW_EDIT_INSERT ? (int32_t)len : -(int32_t)len;
	return e;
}

void gw_seqmap_fold(struct gw_seqmap *m, unsigned n)
{
	unsigned i;

	if (n > m->n)
		n = m->n;
	for (i = 0; i < n; i++)
		m->base +=
		    m->e[i].kind == GW_EDIT_INSERT ? (int32_t)m->e[i].len : -(int32_t)m->e[i].len;
	memmove(m->e, m->e + n, (m->n - n) * sizeof(m->e[0]));
	m->n = (uint8_t)(m->n - n);
}

uint32_t gw_seqmap_fwd(const struct gw_seqmap *m, uint32_t off)
{
	int32_t d = m->base;
	unsigned i;

	for (i = 0; i < m->n; i++) {
		const struct gw_edit *e = &m->e[i];

		if (e->kind == GW_EDIT_INSERT) {
			if (before(off, e->off))
				break;
			d += e->len;
		} else {
			if (!before(off, e->off + e->len)) {
				d -= e->len;
			} else {
				if (before(e->off, off))
					return e->off + (uint32_t)d;
				break;
			}
		}
	}
	return off + (uint32_t)d;
}

uint32_t gw_seqmap_back(const struct gw_seqmap *m, uint32_t q)
{
	int32_t d = m->base;
	unsigned i;

	for (i = 0; i < m->n; i++) {
		const struct gw_edit *e = &m->e[i];
		uint32_t ns = e->new_off;

		if (before(q, ns))
			break;
		if (e->kind == GW_EDIT_INSERT) {
			if (before(q, ns + e->len))
				return e->off;
			d += e->len;
		} else {
			d -= e->len;
		}
	}
	return q - (uint32_t)d;
}

const struct gw_edit *gw_seqmap_insert_at(const struct gw_seqmap *m, uint32_t q)
{
	unsigned i;

	for (i = 0; i < m->n; i++) {
		const struct gw_edit *e = &m->e[i];

		if (e->kind == GW_EDIT_INSERT && !before(q, e->new_off) &&
		    before(q, e->new_off + e->len))
			return e;
	}
	return NULL;
}

unsigned gw_seqmap_keep(const struct gw_seqmap *m, uint32_t start, uint32_t end, uint32_t *starts,
			uint32_t *ends, unsigned max)
{
	uint32_t cur = start;
	unsigned i, n = 0;

	for (i = 0; i < m->n && before(cur, end); i++) {
		const struct gw_edit *e = &m->e[i];
		uint32_t rs = e->off, re = e->off + e->len;

		if (e->kind != GW_EDIT_REMOVE || !before(cur, re))
			continue;
		if (!before(rs, end))
			break;
		if (before(cur, rs) && n < max) {
			starts[n] = cur;
			ends[n++] = rs;
		}
		cur = re;
	}
	if (before(cur, end) && n < max) {
		starts[n] = cur;
		ends[n++] = end;
	}
	return n;
}
