/* SPDX-License-Identifier: MIT */
/*
 * Stands in for <cmocka.h> when configure found no cmocka (it is a test
 * library, not a build dependency): the tests that use it still compile,
 * and when run they print why they cannot and exit 77, which Automake
 * counts as a skip.  tests/lib/lib.sh skips a runner whose program was
 * built this way (it finds the marker string below in the program).
 * Nothing here runs a case: the asserts only keep their operands used.
 */
#ifndef RB_TESTS_NOCMOCKA_H
#define RB_TESTS_NOCMOCKA_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*CMUnitTestFunction)(void **state);
typedef int (*CMFixtureFunction)(void **state);

struct CMUnitTest {
	const char *name;
	CMUnitTestFunction test_func;
	CMFixtureFunction setup_func;
	CMFixtureFunction teardown_func;
	void *initial_state;
};

/* What tests/lib/lib.sh looks for in a program. */
#define RB_NOCMOCKA_MARKER "rdmabroker-test-built-without-cmocka"
static const char rb_nocmocka_marker[] __attribute__((used)) = RB_NOCMOCKA_MARKER;

static inline int _cmocka_run_group_tests(const char *group,
					  const struct CMUnitTest *tests,
					  size_t n, CMFixtureFunction setup,
					  CMFixtureFunction teardown)
{
	(void)tests;
	(void)setup;
	(void)teardown;
	/* program_invocation_short_name: config.h asks for the GNU names. */
	printf("SKIP: %s (%s): %zu cases not run: built without cmocka "
	       "(apt-get install libcmocka-dev, then configure again) [%s]\n",
	       program_invocation_short_name, group, n, rb_nocmocka_marker);
	return 77;
}

static inline void cmocka_set_test_filter(const char *pattern)
{
	(void)pattern;
}

static inline void __attribute__((format(printf, 1, 2)))
print_message(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

#define cmocka_run_group_tests(t, setup, teardown) \
	_cmocka_run_group_tests(#t, (t), sizeof(t) / sizeof((t)[0]), (setup), (teardown))
#define cmocka_unit_test(f) { #f, f, NULL, NULL, NULL }
#define cmocka_unit_test_setup(f, s) { #f, f, s, NULL, NULL }
#define cmocka_unit_test_teardown(f, t) { #f, f, NULL, t, NULL }
#define cmocka_unit_test_setup_teardown(f, s, t) { #f, f, s, t, NULL }
#define cmocka_unit_test_prestate(f, p) { #f, f, NULL, NULL, p }

#define assert_true(c) ((void)(c))
#define assert_false(c) ((void)(c))
#define assert_null(c) ((void)(c))
#define assert_non_null(c) ((void)(c))
#define assert_int_equal(a, b) ((void)(a), (void)(b))
#define assert_int_not_equal(a, b) ((void)(a), (void)(b))
#define assert_ptr_equal(a, b) ((void)(a), (void)(b))
#define assert_ptr_not_equal(a, b) ((void)(a), (void)(b))
#define assert_string_equal(a, b) ((void)(a), (void)(b))
#define assert_string_not_equal(a, b) ((void)(a), (void)(b))
#define assert_memory_equal(a, b, n) ((void)(a), (void)(b), (void)(n))
#define assert_memory_not_equal(a, b, n) ((void)(a), (void)(b), (void)(n))
#define assert_in_range(v, lo, hi) ((void)(v), (void)(lo), (void)(hi))
#define assert_not_in_range(v, lo, hi) ((void)(v), (void)(lo), (void)(hi))
#define assert_return_code(rc, e) ((void)(rc), (void)(e))
#define fail() abort()
#define fail_msg(...) do { print_message(__VA_ARGS__); abort(); } while (0)
#define skip() abort()

#endif
