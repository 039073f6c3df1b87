/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the engine's files share, and nothing a caller of the engine needs
 * (that is engine.h).
 */
#ifndef GREYWALL_DP_ENGINE_INTERNAL_H
#define GREYWALL_DP_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

/* a comes before b in sequence space (mod 2^32) */
static inline bool before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/*
 * One segment's way through the engine, for one parse: built on the stack by
 * the stream step that takes the segment, and the SMTP parser's callback
 * context while its bytes are fed (f->smtp.ctx points here only then).
 */
struct gw_seg {
	struct gw_engine *e;
	struct gw_flow *f;
	bool c2s;
	struct gw_txq *fwd;  /* on toward the peer */
	struct gw_txq *back; /* back toward the sender: our acks and replies */
	/* lines from here on were not forwarded yet: they can be cut */
	uint32_t cut_from;
	/* insertions (s2c.e indices) for lines cut with nothing outstanding: sent at once */
	uint8_t nstandalone;
	uint32_t standalone[GW_FLOW_REPLIES];
};

/* The segment's context, with no parse begun and no reply queued. */
static inline void gw_seg_begin(struct gw_seg *s, struct gw_engine *e, struct gw_flow *f, bool c2s,
				struct gw_txq *fwd, struct gw_txq *back)
{
	s->e = e;
	s->f = f;
	s->c2s = c2s;
	s->fwd = fwd;
	s->back = back;
	s->cut_from = 0;
	s->nstandalone = 0;
}

/*
 * The verdict step (verdict.c). A new flow's parser, with its callbacks; and
 * the new, in-order part of data[0, len) at stream offset off fed to it, lines
 * from held_from on (UINT32_MAX: from the new bytes on) still cuttable. True
 * if the parser deferred a client line: the stream's next offset is then that
 * line's start.
 */
void gw_verdict_session_init(struct gw_engine *e, struct gw_flow *f);
bool gw_verdict_parse(struct gw_seg *s, const uint8_t *data, uint32_t off, uint32_t len,
		      uint32_t held_from);

#endif /* GREYWALL_DP_ENGINE_INTERNAL_H */
