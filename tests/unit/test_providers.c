/* Unit test: provider knowledge, table-driven from data.
 *
 * tests/unit/data/provider-replies.tsv holds replies quoted word for word
 * from the published error pages of the large receivers and filters (or
 * real replies quoted beside them), each line naming its page and where it
 * was verified; provider-replies-unverified.tsv holds replies that could
 * not be verified. Every one must classify to the category its page implies
 * with the built-in rules, as Exim's transport event would hand it over (a
 * reply that begins with 4 as a deferral), and none may suppress a
 * recipient for a fault on the sender's side. Only the verified file counts
 * toward the floor of quoted replies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_classify.h"

#define MIN_VERIFIED 400

/* Classify every line of one file; return the number of lines, count the
 * disagreements into *bad. want_verified: the verified column must name a
 * page or a quoted reply (else it must say "unverified"). */
static int run_file(const bg_rules *r, const char *name, int want_verified, int *bad)
{
    const char *top = getenv("BG_TOP");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/unit/data/%s", top ? top : ".", name);
    FILE *f = fopen(path, "r");
    if (!f)
        print_error("cannot open %s\n", path);
    assert_non_null(f);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *col[5] = {line, NULL, NULL, NULL, NULL};
        for (int i = 1; i < 5; i++) {
            col[i] = col[i - 1] ? strchr(col[i - 1], '\t') : NULL;
            if (col[i])
                *col[i]++ = '\0';
        }
        assert_non_null(col[4]);
        const char *cat = col[0], *prov = col[1], *url = col[2], *how = col[3], *reply = col[4];
        assert_true(strncmp(url, "http", 4) == 0); /* every reply names its source */
        if (want_verified) {
            if (strncmp(how, "page:", 5) != 0 && strncmp(how, "page-copy:", 10) != 0 &&
                strncmp(how, "reply-copy:", 11) != 0) {
                print_error("%s: line without a verification: %s\n", name, reply);
                fail();
            }
        } else {
            assert_string_equal(how, "unverified");
        }
        bg_verdict v;
        bg_classify_text(r, reply, reply[0] == '4', &v);
        n++;
        int ok = strcmp(v.category->id, cat) == 0;
        if (ok && (v.side == BG_SIDE_SENDER || v.side == BG_SIDE_OURS) && v.suppress != BG_SUP_NONE)
            ok = 0;
        if (!ok) {
            print_error("%s (%s): want %s, got %s (%s, suppress %s)\n  %s\n", prov, how, cat,
                        v.category->id, v.rule, bg_suppress_name(v.suppress), reply);
            (*bad)++;
        }
    }
    fclose(f);
    return n;
}

static void provider_replies(void **state)
{
    (void)state;
    bg_rules *r = bg_rules_load(NULL);
    assert_non_null(r);
    int bad = 0, bad_u = 0;
    int n = run_file(r, "provider-replies.tsv", 1, &bad);
    int u = run_file(r, "provider-replies-unverified.tsv", 0, &bad_u);
    bg_rules_free(r);
    printf("provider replies: %d of %d verified quotations agree; %d of %d unverified agree\n",
           n - bad, n, u - bad_u, u);
    assert_true(n >= MIN_VERIFIED);
    assert_int_equal(bad, 0);
    assert_int_equal(bad_u, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(provider_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
