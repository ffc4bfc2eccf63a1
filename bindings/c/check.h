/* A tiny test harness for the C tests: CHECK counts, the summary line is
 * "N passed, N failed" and the exit code is non-zero when anything failed. */
#ifndef TRENT_CHECK_H
#define TRENT_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed = 0;
static int check_failed = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            check_passed++;                                                          \
        } else {                                                                     \
            check_failed++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

/* Checks that a call returned `want`, printing both codes' names otherwise. */
#define CHECK_RC(call, want)                                                           \
    do {                                                                               \
        trent_result check_rc_ = (call);                                               \
        if (check_rc_ == (trent_result)(want)) {                                       \
            check_passed++;                                                            \
        } else {                                                                       \
            check_failed++;                                                            \
            fprintf(stderr, "%s:%d: %s returned %s (%u), expected %s\n", __FILE__,     \
                    __LINE__, #call, trent_result_name(check_rc_), (unsigned)check_rc_, \
                    trent_result_name((uint32_t)(want)));                              \
        }                                                                              \
    } while (0)

static int check_summary(const char *suite) {
    printf("%s: %d passed, %d failed\n", suite, check_passed, check_failed);
    return check_failed == 0 ? 0 : 1;
}

#endif /* TRENT_CHECK_H */
