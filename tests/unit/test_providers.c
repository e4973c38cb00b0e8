/* Unit test: provider knowledge, table-driven from data.
 *
 * tests/unit/data/provider-replies.tsv holds replies quoted from the
 * published error pages of the large receivers, filters and blocklists
 * (each line names its page), with the category the page implies. Every
 * one must classify to that category with the built-in rules, as Exim's
 * transport event would hand it over (a 4xx reply as a deferral), and
 * none may suppress a recipient for a fault on the sender's side.
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

#define MIN_REPLIES 300

static void provider_replies(void **state)
{
    (void)state;
    const char *top = getenv("BG_TOP");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/unit/data/provider-replies.tsv", top ? top : ".");
    FILE *f = fopen(path, "r");
    if (!f)
        print_error("cannot open %s\n", path);
    assert_non_null(f);
    bg_rules *r = bg_rules_load(NULL);
    assert_non_null(r);
    char line[4096];
    int n = 0, bad = 0, providers = 0;
    char last[64] = "";
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *cat = line, *prov = strchr(cat, '\t');
        char *url = prov ? strchr(prov + 1, '\t') : NULL;
        char *reply = url ? strchr(url + 1, '\t') : NULL;
        assert_non_null(reply);
        *prov++ = '\0';
        *url++ = '\0';
        *reply++ = '\0';
        assert_true(strncmp(url, "http", 4) == 0); /* every reply names its source */
        if (strcmp(prov, last) != 0) {
            snprintf(last, sizeof last, "%s", prov);
            providers++;
        }
        bg_verdict v;
        bg_classify_text(r, reply, reply[0] == '4', &v);
        n++;
        int ok = strcmp(v.category->id, cat) == 0;
        if (ok && (v.side == BG_SIDE_SENDER || v.side == BG_SIDE_OURS) && v.suppress != BG_SUP_NONE)
            ok = 0;
        if (!ok) {
            print_error("%s (%s): want %s, got %s (%s, suppress %s)\n  %s\n", prov, url, cat,
                        v.category->id, v.rule, bg_suppress_name(v.suppress), reply);
            bad++;
        }
    }
    fclose(f);
    bg_rules_free(r);
    printf("provider replies: %d of %d agree (%d provider blocks)\n", n - bad, n, providers);
    assert_true(n >= MIN_REPLIES);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(provider_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
