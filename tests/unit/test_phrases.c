/* Unit test: the phrase families of the word rules, table-driven from
 * tests/unit/data/phrase-families.tsv (category, family, reply). Every
 * reply must classify to its category with the built-in rules, a reply
 * that begins with 4 as a deferral; a family whose words stop matching, or
 * start matching a stronger rule of another category, fails here by name.
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

static void phrase_families(void **state)
{
    (void)state;
    const char *top = getenv("BG_TOP");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/unit/data/phrase-families.tsv", top ? top : ".");
    FILE *f = fopen(path, "r");
    if (!f)
        print_error("cannot open %s\n", path);
    assert_non_null(f);
    bg_rules *r = bg_rules_load(NULL);
    assert_non_null(r);
    char line[4096];
    int n = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *fam = strchr(line, '\t');
        char *reply = fam ? strchr(fam + 1, '\t') : NULL;
        assert_non_null(reply);
        *fam++ = '\0';
        *reply++ = '\0';
        bg_verdict v;
        bg_classify_text(r, reply, reply[0] == '4', &v);
        n++;
        if (strcmp(v.category->id, line) != 0) {
            print_error("family %s: want %s, got %s (%s)\n  %s\n", fam, line, v.category->id, v.rule, reply);
            bad++;
        }
    }
    fclose(f);
    bg_rules_free(r);
    printf("phrase families: %d of %d agree\n", n - bad, n);
    assert_true(n > 0);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(phrase_families),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
