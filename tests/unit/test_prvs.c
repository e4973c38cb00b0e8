/* Unit tests: bg_prvs against fixed vectors (HMAC-SHA1 worked out
 * independently) and against the real Exim's ${prvs}/${prvscheck} when
 * exim4 is installed (it is a build dependency). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg_prvs.h"

#define DAY 86400LL
/* day 20780: the expiry stamp of a signature made that day is 787 */
#define NOW (20780LL * DAY + 3600)

static void vectors(void **state)
{
    (void)state;
    static const struct {
        const char *addr, *secret;
        int key;
        const char *want;
    } v[] = {
        {"alice@example.com", "secret", 0, "prvs=0787740171=alice@example.com"},
        {"alice@example.com", "secret", 3, "prvs=3787070fc7=alice@example.com"},
        {NULL, NULL, 0, NULL},
    };
    for (int i = 0; v[i].addr; i++) {
        char out[400];
        assert_int_equal(bg_prvs_sign(v[i].addr, v[i].secret, v[i].key, NOW, out, sizeof out), 0);
        assert_string_equal(out, v[i].want);
        bg_prvs p;
        assert_int_equal(bg_prvs_parse(out, &p), 1);
        assert_string_equal(p.address, v[i].addr);
        assert_int_equal(p.keynum, v[i].key);
        assert_int_equal(bg_prvs_verify(&p, v[i].secret, NOW), BG_PRVS_VALID);
    }
}

static void verify_cases(void **state)
{
    (void)state;
    static const struct {
        const char *addr, *secret;
        long long now;
        bg_prvs_result want;
    } c[] = {
        {"prvs=0787740171=alice@example.com", "secret", NOW, BG_PRVS_VALID},
        {"<prvs=0787740171=alice@example.com>", "secret", NOW, BG_PRVS_VALID},
        {"PRVS=0787740171=alice@example.com", "secret", NOW, BG_PRVS_VALID},
        {"prvs=0787740171=alice@example.com", "secret", NOW + 7 * DAY, BG_PRVS_VALID},
        {"prvs=0787740171=alice@example.com", "secret", NOW + 8 * DAY, BG_PRVS_EXPIRED},
        {"prvs=0787740171=alice@example.com", "wrong", NOW, BG_PRVS_BAD_HASH},
        {"prvs=0787740172=alice@example.com", "secret", NOW, BG_PRVS_BAD_HASH},
        {"prvs=0787740171=mallory@example.com", "secret", NOW, BG_PRVS_BAD_HASH},
        {"prvs=1787740171=alice@example.com", "secret", NOW, BG_PRVS_BAD_HASH},
        {"prvs=0787740171=alice@example.com", "", NOW, BG_PRVS_ERROR},
        {"prvs=0787740171=alice@example.com",
         "0123456789012345678901234567890123456789012345678901234567890123456789", NOW, BG_PRVS_ERROR},
        {NULL, NULL, 0, 0},
    };
    for (int i = 0; c[i].addr; i++) {
        bg_prvs p;
        assert_int_equal(bg_prvs_parse(c[i].addr, &p), 1);
        assert_int_equal(bg_prvs_verify(&p, c[i].secret, c[i].now), c[i].want);
    }
    /* upper-case hex parses (Exim's regex is caseless) but does not match */
    bg_prvs p;
    assert_int_equal(bg_prvs_parse("prvs=0787ABCDEF=alice@example.com", &p), 1);
    assert_int_equal(bg_prvs_verify(&p, "secret", NOW), BG_PRVS_BAD_HASH);
    /* not prvs form */
    static const char *const notp[] = {
        "alice@example.com", "prvs=078774017=alice@example.com", "prvs=0787740171alice@example.com",
        "prvs=0787740171=@example.com", "prvs=0787740171=alice@", "prvs=x787740171=a@b.example",
        "prvs=0787g40171=a@b.example", "", NULL,
    };
    for (int i = 0; notp[i]; i++)
        assert_int_equal(bg_prvs_parse(notp[i], &p), 0);
    assert_int_equal(bg_prvs_parse(NULL, &p), 0);
    /* wrap-around of the three-digit day */
    char out[200];
    long long wrapday = 20995LL * DAY; /* stamp 002, today 995 */
    assert_int_equal(bg_prvs_sign("a@b.example", "k", 0, wrapday, out, sizeof out), 0);
    assert_int_equal(bg_prvs_parse(out, &p), 1);
    assert_string_equal(p.day, "002");
    assert_int_equal(bg_prvs_verify(&p, "k", wrapday), BG_PRVS_VALID);
    assert_int_equal(bg_prvs_verify(&p, "k", wrapday + 3 * DAY), BG_PRVS_VALID);
    assert_int_equal(bg_prvs_sign("nodomain", "k", 0, NOW, out, sizeof out), -1);
    assert_int_equal(bg_prvs_sign("a@b.example", "k", 0, NOW, out, 10), -1);
    assert_string_equal(bg_prvs_result_text(BG_PRVS_EXPIRED), "signature expired");
}

/* Run exim4 -be EXPR; 0 with the first output line in out, -1 when exim
 * cannot run. */
static int exim_be(const char *expr, char *out, size_t outlen)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "exim4 -be '%s' 2>/dev/null", expr);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    out[0] = '\0';
    if (!fgets(out, (int)outlen, f))
        out[0] = '\0';
    int rc = pclose(f);
    out[strcspn(out, "\n")] = '\0';
    return rc == 0 && out[0] ? 0 : -1;
}

static void against_exim(void **state)
{
    (void)state;
    char exim_out[512], ours[512];
    long long now = (long long)time(NULL);
    if (exim_be("${prvs{Bob.Smith@Example.org}{s3cr3t key}{5}}", exim_out, sizeof exim_out) < 0) {
        skip();
        return;
    }
    assert_int_equal(bg_prvs_sign("Bob.Smith@Example.org", "s3cr3t key", 5, now, ours, sizeof ours), 0);
    if (strcmp(exim_out, ours) != 0) { /* midnight between the two calls: once more */
        exim_be("${prvs{Bob.Smith@Example.org}{s3cr3t key}{5}}", exim_out, sizeof exim_out);
        bg_prvs_sign("Bob.Smith@Example.org", "s3cr3t key", 5, (long long)time(NULL), ours, sizeof ours);
    }
    assert_string_equal(exim_out, ours);
    bg_prvs p;
    assert_int_equal(bg_prvs_parse(exim_out, &p), 1);
    assert_int_equal(bg_prvs_verify(&p, "s3cr3t key", now), BG_PRVS_VALID);
    /* Exim accepts ours, and refuses it with another key */
    char expr[700], res[64];
    snprintf(expr, sizeof expr, "${prvscheck{%s}{s3cr3t key}{[$prvscheck_result]}}", ours);
    assert_int_equal(exim_be(expr, res, sizeof res), 0);
    assert_string_equal(res, "[1]");
    snprintf(expr, sizeof expr, "${prvscheck{%s}{other}{[$prvscheck_result]}}", ours);
    assert_int_equal(exim_be(expr, res, sizeof res), 0);
    assert_string_equal(res, "[]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vectors),
        cmocka_unit_test(verify_cases),
        cmocka_unit_test(against_exim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
