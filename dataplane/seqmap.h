/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sequence-number translation for one direction of an edited TCP flow.
 *
 * Offsets are stream offsets (seq - ISN - 1) in the sender's own numbering
 * ("orig"); "new" is the numbering the receiver sees after greywall removed
 * or inserted bytes. Every edit is kept, not only the last (unlike Linux
 * nf_conntrack_seqadj), so a retransmission straddling an old edit maps
 * right. One direction only ever removes (client commands) or only inserts
 * (injected replies), and edits arrive in stream order.
 *
 * An edit both peers have acknowledged past is folded into a base delta, so
 * the list holds only edits still in flight and a session may carry any
 * number of them. Folding is exact for every byte a receiver can still take:
 * a receiver keeps only bytes at or past its own ack, which lies past every
 * folded edit, and there the base delta is the whole story. Bytes before a
 * folded edit (a stale retransmission) map with the base delta too: they
 * land at or below the receiver's ack, as old bytes, and are dropped there.
 */
#ifndef GREYWALL_DP_SEQMAP_H
#define GREYWALL_DP_SEQMAP_H

#include <stdbool.h>
#include <stdint.h>

#define GW_SEQMAP_MAX 16

enum gw_edit_kind {
	GW_EDIT_REMOVE = 1,
	GW_EDIT_INSERT = 2,
};

struct gw_edit {
	uint32_t off;	  /* orig offset of the edit */
	uint32_t new_off; /* where it lands in new numbering (start of inserted bytes) */
	uint16_t len;
	uint8_t kind;
	uint8_t ref; /* caller's index of the bytes (insert) or reply (remove) */
};

struct gw_seqmap {
	uint8_t n;
	int32_t total; /* sum of all deltas, folded ones included */
	int32_t base;  /* sum of the folded edits' deltas */
	struct gw_edit e[GW_SEQMAP_MAX];
};

/* Append an edit at or after every earlier one. Returns the edit, or NULL when full or out of
 * order. */
struct gw_edit *gw_seqmap_add(struct gw_seqmap *m, uint8_t kind, uint32_t off, uint16_t len,
			      uint8_t ref);

/* Forget the first n edits, adding their deltas into the base (see above). */
void gw_seqmap_fold(struct gw_seqmap *m, unsigned n);

/* orig -> new for a byte position or sequence boundary. A position inside a removed range maps to
 * its start. */
uint32_t gw_seqmap_fwd(const struct gw_seqmap *m, uint32_t off);

/*
 * new -> orig, for acknowledgements and SACK edges coming back. Removed bytes
 * count as received; a position inside inserted bytes maps to the insertion
 * point (the peer never had those bytes).
 */
uint32_t gw_seqmap_back(const struct gw_seqmap *m, uint32_t new_off);

/* The insert edit whose bytes cover new_off, or NULL. */
const struct gw_edit *gw_seqmap_insert_at(const struct gw_seqmap *m, uint32_t new_off);

/*
 * Pieces of orig range [start, end) that survive removal, in order. Returns
 * the count written to starts/ends (at most max).
 */
unsigned gw_seqmap_keep(const struct gw_seqmap *m, uint32_t start, uint32_t end, uint32_t *starts,
			uint32_t *ends, unsigned max);

#endif /* GREYWALL_DP_SEQMAP_H */
