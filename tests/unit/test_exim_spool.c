/* Tests for bg_exim_spool: the body replacement in Exim's -D file is all or
 * nothing. Real files, real write failures (RLIMIT_FSIZE makes the kernel
 * refuse a write past a size, as a full disk would). The module has no
 * Exim symbol, so it is compiled in here directly (plugin/bg_exim*.c are
 * not part of libbgcore.a). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../plugin/bg_exim_spool.c"

#define START 19
static const char head[] = "1xVQAA-0002SV-0q-D\n"; /* 19 bytes, as Exim writes */

/* A temporary -D file holding head + body; returns the fd. */
static int spool_file(const char *body, char *path)
{
    strcpy(path, "/tmp/bg-spool-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, head, START), START);
    assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    return fd;
}

/* The whole file as a string (caller frees). */
static char *slurp(int fd, size_t *len)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char *p = calloc(1, (size_t)st.st_size + 1);
    assert_non_null(p);
    assert_int_equal(pread(fd, p, (size_t)st.st_size, 0), st.st_size);
    *len = (size_t)st.st_size;
    return p;
}

static void replace_grows_and_shrinks(void **state)
{
    (void)state;
    char path[64], err[200];
    const char *old = "line one\nline two\n";
    int fd = spool_file(old, path);
    const char *big = "a much longer replacement body\nwith three\nlines\n";
    assert_int_equal(bg_exim_spool_replace(fd, START, old, strlen(old), big, strlen(big), err,
                                           sizeof err), 0);
    size_t len;
    char *all = slurp(fd, &len);
    assert_int_equal(len, START + strlen(big));
    assert_memory_equal(all, head, START);
    assert_string_equal(all + START, big);
    free(all);
    const char *small = "x\n";
    assert_int_equal(bg_exim_spool_replace(fd, START, big, strlen(big), small, strlen(small), err,
                                           sizeof err), 0);
    all = slurp(fd, &len);
    assert_int_equal(len, START + 2);
    assert_string_equal(all + START, small);
    free(all);
    close(fd);
    unlink(path);
}

/* A write that the kernel refuses half way (file size limit): the file
 * must come back exactly as it was. */
static void failed_write_restores_original(void **state)
{
    (void)state;
    char path[64], err[200] = "";
    char old[200];
    memset(old, 'o', sizeof old - 2);
    old[sizeof old - 2] = '\n';
    old[sizeof old - 1] = '\0';
    int fd = spool_file(old, path);
    size_t newlen = 64 * 1024;
    char *nw = malloc(newlen);
    assert_non_null(nw);
    memset(nw, 'n', newlen);

    struct rlimit saved, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    lim = saved;
    lim.rlim_cur = 4096; /* writes beyond 4 KiB fail with EFBIG */
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = bg_exim_spool_replace(fd, START, old, strlen(old), nw, newlen, err, sizeof err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);

    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "original restored"));
    size_t len;
    char *all = slurp(fd, &len);
    assert_int_equal(len, START + strlen(old));
    assert_memory_equal(all, head, START);
    assert_string_equal(all + START, old);
    free(all);
    free(nw);
    close(fd);
    unlink(path);
}

/* A descriptor that cannot be written (read-only): nothing changes. */
static void readonly_fd_leaves_file(void **state)
{
    (void)state;
    char path[64], err[200] = "";
    const char *old = "body\n";
    int fd = spool_file(old, path);
    close(fd);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    int rc = bg_exim_spool_replace(fd, START, old, strlen(old), "new\n", 4, err, sizeof err);
    assert_true(rc < 0);
    assert_true(err[0] != '\0');
    size_t len;
    char *all = slurp(fd, &len);
    assert_int_equal(len, START + strlen(old));
    assert_string_equal(all + START, old);
    free(all);
    close(fd);
    unlink(path);
}

static void linecount_counts_like_exim(void **state)
{
    (void)state;
    assert_int_equal(bg_exim_spool_linecount("", 0), 0);
    assert_int_equal(bg_exim_spool_linecount("a\n", 2), 1);
    assert_int_equal(bg_exim_spool_linecount("a\nb", 3), 2);
    assert_int_equal(bg_exim_spool_linecount("\n\n\n", 3), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replace_grows_and_shrinks),
        cmocka_unit_test(failed_write_restores_original),
        cmocka_unit_test(readonly_fd_leaves_file),
        cmocka_unit_test(linecount_counts_like_exim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
