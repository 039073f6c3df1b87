/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SipHash-2-4 (Aumasson & Bernstein), streaming so that the BPF side can feed
 * bytes as it parses without a scratch buffer. The key is the per-installation
 * secret kept in the table header: without it nobody outside can aim
 * collisions at one bucket.
 */
#ifndef GREYWALL_SIPHASH_H
#define GREYWALL_SIPHASH_H

#include "compiler.h"

struct gw_siphash {
	u64 v0, v1, v2, v3;
	u64 tail;  /* pending bytes, little-endian */
	u64 total; /* bytes fed so far */
};

#define GW_ROTL64(x, b) (u64)(((x) << (b)) | ((x) >> (64 - (b))))

GW_INLINE void gw_sipround(struct gw_siphash *s)
{
	s->v0 += s->v1;
	s->v1 = GW_ROTL64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = GW_ROTL64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = GW_ROTL64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = GW_ROTL64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = GW_ROTL64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = GW_ROTL64(s->v2, 32);
}

GW_INLINE void gw_siphash_init(struct gw_siphash *s, u64 k0, u64 k1)
{
	s->v0 = k0 ^ 0x736f6d6570736575ULL;
	s->v1 = k1 ^ 0x646f72616e646f6dULL;
	s->v2 = k0 ^ 0x6c7967656e657261ULL;
	s->v3 = k1 ^ 0x7465646279746573ULL;
	s->tail = 0;
	s->total = 0;
}

GW_INLINE void gw_siphash_compress(struct gw_siphash *s, u64 m)
{
	s->v3 ^= m;
	gw_sipround(s);
	gw_sipround(s);
	s->v0 ^= m;
}

GW_INLINE void gw_siphash_byte(struct gw_siphash *s, u8 b)
{
	u32 shift = (u32)(s->total & 7) * 8;

	s->tail |= (u64)b << shift;
	s->total++;
	if ((s->total & 7) == 0) {
		gw_siphash_compress(s, s->tail);
		s->tail = 0;
	}
}

GW_INLINE void gw_siphash_update(struct gw_siphash *s, const void *data, u32 len)
{
	const u8 *p = (const u8 *)data;
	u32 i;

	for (i = 0; i < len; i++)
		gw_siphash_byte(s, p[i]);
}

GW_INLINE u64 gw_siphash_final(struct gw_siphash *s)
{
	u64 b = (s->total << 56) | s->tail;

	gw_siphash_compress(s, b);
	s->v2 ^= 0xff;
	gw_sipround(s);
	gw_sipround(s);
	gw_sipround(s);
	gw_sipround(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

GW_INLINE u64 gw_siphash24(u64 k0, u64 k1, const void *data, u32 len)
{
	struct gw_siphash s;

	gw_siphash_init(&s, k0, k1);
	gw_siphash_update(&s, data, len);
	return gw_siphash_final(&s);
}

#endif /* GREYWALL_SIPHASH_H */
