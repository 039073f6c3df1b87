/* SPDX-License-Identifier: BSD-2-Clause */
/* cmocka needs these before it, in this order. */
#ifndef GREYWALL_TEST_UNIT_H
#define GREYWALL_TEST_UNIT_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
