/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Portability layer for code shared by the BPF programs and user space.
 * Everything under include/greywall/ must build with gcc for user space and
 * with clang -target bpf -mcpu=v3, so nothing here may call libc.
 */
#ifndef GREYWALL_COMPILER_H
#define GREYWALL_COMPILER_H

#ifdef __bpf__
#include <linux/types.h>
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
#ifndef bool
#define bool _Bool
#define true 1
#define false 0
#endif
#ifndef NULL
#define NULL ((void *)0)
#endif
typedef unsigned long gw_size_t;
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;
typedef size_t gw_size_t;
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define GW_INLINE static __always_inline

/*
 * GW_STEP marks a shared helper that the BPF verifier must check once, on its
 * own. Under __bpf__ it is a global function: the verifier takes its
 * arguments as unknown and its result as unknown, so a loop with data-
 * dependent exits inside it does not multiply the paths of its caller. A
 * step takes scalars and pointers to sized types only. In user space it is
 * an ordinary inline function.
 */
#ifdef __bpf__
#define GW_STEP __attribute__((noinline))
#else
#define GW_STEP static inline
#endif

/*
 * An index into a power-of-two buffer. In BPF it is masked so the verifier
 * can bound an offset that a step got as an argument. The empty asm before
 * keeps clang from dropping the mask on a bound the verifier cannot see
 * (it merges "i < 256 && n < 256" into one test of i | n), the one after
 * from folding a constant back in after it. In user space
 * valid indexes are in range already, and out-of-range ones should fault
 * under the sanitizers, not wrap.
 */
#ifdef __bpf__
GW_INLINE u32 gw_index(u32 i, u32 size)
{
	__asm__ volatile("" : "+r"(i));
	i &= size - 1;
	__asm__ volatile("" : "+r"(i));
	return i;
}
#else
#define gw_index(i, size) ((u32)(i))
#endif

#define gw_likely(x)   __builtin_expect(!!(x), 1)
#define gw_unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Loads of shared words must not be torn or cached by the compiler. In BPF a
 * volatile 64-bit load is a single instruction; in user space an acquire load
 * orders the slot's state read after its fingerprint read.
 */
#ifdef __bpf__
#define gw_load64(p)	     (*(volatile u64 *)(p))
#define gw_store64(p, v)     (*(volatile u64 *)(p) = (v))
#define gw_cas64(p, old, nw) __sync_val_compare_and_swap((p), (old), (nw))
#define gw_fetch_add64(p, v) __sync_fetch_and_add((p), (v))
#else
#define gw_load64(p)	     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define gw_store64(p, v)     __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define gw_cas64(p, old, nw) __sync_val_compare_and_swap((p), (old), (nw))
#define gw_fetch_add64(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#endif

GW_INLINE u8 gw_ascii_lower(u8 c)
{
	return (c >= 'A' && c <= 'Z') ? (u8)(c + ('a' - 'A')) : c;
}

GW_INLINE bool gw_is_digit(u8 c)
{
	return c >= '0' && c <= '9';
}

GW_INLINE bool gw_is_hex(u8 c)
{
	c = gw_ascii_lower(c);
	return gw_is_digit(c) || (c >= 'a' && c <= 'f');
}

/* A decimal number of 1 to 19 digits and nothing else (fits u64, never overflows). */
GW_INLINE bool gw_parse_u64(const u8 *s, u32 len, u64 *out)
{
	u64 v = 0;
	u32 i;

	if (len == 0 || len > 19)
		return false;
	for (i = 0; i < len && i < 19; i++) {
		if (!gw_is_digit(s[i]))
			return false;
		v = v * 10 + (u64)(s[i] - '0');
	}
	*out = v;
	return true;
}

GW_INLINE void gw_memcpy(void *dst, const void *src, u32 len)
{
	u8 *d = (u8 *)dst;
	const u8 *s = (const u8 *)src;
	u32 i;

	for (i = 0; i < len; i++)
		d[i] = s[i];
}

GW_INLINE void gw_memzero(void *dst, u32 len)
{
	u8 *d = (u8 *)dst;
	u32 i;

	for (i = 0; i < len; i++)
		d[i] = 0;
}

#endif /* GREYWALL_COMPILER_H */
