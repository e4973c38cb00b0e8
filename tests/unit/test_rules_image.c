/* test_rules_image: the compiled-in rule image (tools/rulesgen.c) is the
 * same rule set a fresh parse of the embedded conf/rules.conf gives, field
 * for field and array for array -- so using it in place can never classify
 * differently -- and bg_rules_load really uses it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "../../plugin/bg_catalog_int.h"
#include "../../plugin/bg_rules_int.h"
#include "bg_classify.h"
#include "bg_embedded.h"

static bg_rules *parse_builtin(void)
{
    char err[300] = "";
    bg_rules *r = bg_rules_parse_builtin(err, sizeof err);
    if (!r)
        print_error("parse: %s\n", err);
    return r;
}

static void test_image_is_used(void **state)
{
    (void)state;
    assert_non_null(&bg_rules_image_builtin);
    bg_rules *img = bg_rules_load("");
    assert_non_null(img);
    assert_ptr_equal(bg_rules_at(img, 0), &bg_rules_image_builtin.rule[0]);
    bg_rules_free(img);
}

static void test_image_equals_fresh_parse(void **state)
{
    (void)state;
    bg_rules *img = bg_rules_load("");
    bg_rules *ref = parse_builtin();
    assert_non_null(img);
    assert_non_null(ref);
    assert_int_equal(bg_rules_count(img), bg_rules_count(ref));
    assert_true(bg_rules_count(ref) > 50);
    for (size_t i = 0; i < bg_rules_count(ref); i++) {
        bg_rule a = *bg_rules_at(img, i), b = *bg_rules_at(ref, i);
        assert_string_equal(a.name, b.name);
        assert_ptr_equal(bg_rule_cat(bg_rules_at(img, i)), b.cat);
        assert_null(a.cat); /* the image's rules hold no pointers */
        assert_null(a.phrase);
        assert_int_equal(a.nphrase, b.nphrase);
        for (size_t k = 0; k < a.nphrase; k++)
            assert_string_equal(bg_rule_phrases(bg_rules_at(img, i))[k], b.phrase[k]);
        /* everything else, byte for byte (both are zero-filled structs) */
        a.phrase = b.phrase = NULL;
        a.cat = b.cat = NULL;
        a.capphrase = b.capphrase = 0;
        assert_memory_equal(&a, &b, sizeof a);
    }
    const bg_phrase *pa, *pb;
    size_t na, nb;
    const bg_ac_frozen *aa, *ab;
    assert_int_equal(bg_rules_parts(img, &pa, &na, &aa), 0);
    assert_int_equal(bg_rules_parts(ref, &pb, &nb, &ab), 0);
    assert_int_equal(na, nb);
    assert_memory_equal(pa, pb, na * sizeof *pa);
    assert_int_equal(aa->nnode, ab->nnode);
    assert_int_equal(aa->npat, ab->npat);
    assert_memory_equal(aa->root, ab->root, 256 * sizeof *aa->root);
    assert_memory_equal(aa->st, ab->st, aa->nnode * sizeof *aa->st);
    assert_memory_equal(aa->out, ab->out, aa->nnode * sizeof *aa->out);
    assert_memory_equal(aa->dict, ab->dict, aa->nnode * sizeof *aa->dict);
    assert_memory_equal(aa->pat_id, ab->pat_id, aa->npat * sizeof *aa->pat_id);
    assert_memory_equal(aa->pat_len, ab->pat_len, aa->npat * sizeof *aa->pat_len);
    assert_memory_equal(aa->pat_next, ab->pat_next, aa->npat * sizeof *aa->pat_next);
    bg_rules_free(img);
    bg_rules_free(ref);
}

/* An admin file on top of the image: copied out of the image, compiled
 * afresh, and the image itself is left as it was. */
static void test_admin_rules_over_image(void **state)
{
    (void)state;
    bg_rules *img = bg_rules_load("");
    const char *adm = "rule local-full\ncategory mailbox-full\npriority 90\nphrase frobnicated box\n";
    char err[300] = "";
    bg_rules *r = bg_rules_parse(img, adm, strlen(adm), "admin.conf", err, sizeof err);
    assert_non_null(r);
    assert_int_equal(bg_rules_count(r), bg_rules_count(img) + 1);
    bg_verdict v;
    bg_classify_text(r, "550 5.2.2 frobnicated box for user", 0, &v);
    assert_string_equal(v.category->id, "mailbox-full");
    bg_classify_text(img, "550 5.1.1 no such user here", 0, &v);
    assert_string_equal(v.category->id, "unknown-user");
    bg_rules_free(r);
    bg_rules_free(img);
}

/* Scanning with borrowed arrays finds what the owner finds. */
static void test_ac_borrow(void **state)
{
    (void)state;
    bg_ac *a = bg_ac_new();
    assert_int_equal(bg_ac_add(a, "he", 2, 1), 0);
    assert_int_equal(bg_ac_add(a, "she", 3, 2), 0);
    assert_int_equal(bg_ac_add(a, "hers", 4, 3), 0);
    assert_int_equal(bg_ac_build(a), 0);
    bg_ac *b = bg_ac_borrow(bg_ac_view(a));
    assert_non_null(b);
    assert_int_equal(bg_ac_add(b, "x", 1, 4), -1); /* borrowed: read only */
    assert_int_equal(bg_ac_scan(a, "USHERS", 6, NULL, NULL), 3);
    assert_int_equal(bg_ac_scan(b, "USHERS", 6, NULL, NULL), 3);
    bg_ac_free(b);
    bg_ac_free(a);
    assert_null(bg_ac_borrow(NULL));
}

/* Every occurrence, checked against brute force: random patterns and
 * texts over a small alphabet (so that patterns overlap and share
 * suffixes), case folded, with a collector that records (id, start, end). */
typedef struct hitlog {
    size_t n;
    unsigned id[4096];
    size_t start[4096], end[4096];
} hitlog;

static int collect(unsigned id, size_t start, size_t end, void *ctx)
{
    hitlog *h = ctx;
    if (h->n < 4096) {
        h->id[h->n] = id;
        h->start[h->n] = start;
        h->end[h->n] = end;
    }
    h->n++;
    return 0;
}

static int has_hit(const hitlog *h, unsigned id, size_t start, size_t end)
{
    for (size_t i = 0; i < h->n && i < 4096; i++)
        if (h->id[i] == id && h->start[i] == start && h->end[i] == end)
            return 1;
    return 0;
}

static void test_ac_matches_brute_force(void **state)
{
    (void)state;
    static const char alpha[] = "abAB c\xc3";
    unsigned seed = 12345;
#define RND() (seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff)
    for (int round = 0; round < 300; round++) {
        char pats[40][8];
        size_t npat = 1 + RND() % 40;
        bg_ac *a = bg_ac_new();
        assert_non_null(a);
        for (size_t i = 0; i < npat; i++) {
            size_t len = 1 + RND() % 6;
            for (size_t k = 0; k < len; k++)
                pats[i][k] = alpha[RND() % (sizeof alpha - 1)];
            pats[i][len] = '\0';
            assert_int_equal(bg_ac_add(a, pats[i], len, (unsigned)i), 0);
        }
        assert_int_equal(bg_ac_build(a), 0);
        char text[120];
        size_t tl = RND() % sizeof text;
        for (size_t k = 0; k < tl; k++)
            text[k] = alpha[RND() % (sizeof alpha - 1)];
        static hitlog h;
        h.n = 0;
        size_t got = bg_ac_scan(a, text, tl, collect, &h);
        size_t want = 0;
        for (size_t i = 0; i < npat; i++) {
            size_t pl = strlen(pats[i]);
            for (size_t st = 0; st + pl <= tl; st++)
                if (strncasecmp(text + st, pats[i], pl) == 0) {
                    want++;
                    assert_true(has_hit(&h, (unsigned)i, st, st + pl));
                }
        }
        assert_int_equal(got, want);
        assert_int_equal(h.n, want);
        bg_ac_free(a);
    }
#undef RND
}

/* The catalogue facts in the image match the compiled-in texts. */
typedef struct secs {
    size_t n;
    char name[64][BG_CAT_NAME_MAX];
    size_t start[64], end[64];
} secs;

static int add_sec(const char *name, size_t start, size_t end, void *ctx)
{
    secs *s = ctx;
    if (s->n >= 64)
        return -1;
    snprintf(s->name[s->n], sizeof s->name[0], "%s", name);
    s->start[s->n] = start;
    s->end[s->n++] = end;
    return 0;
}

static void test_catalog_image(void **state)
{
    (void)state;
    assert_non_null(bg_catalog_images);
    size_t seen = 0;
    for (const bg_catalog_image *im = bg_catalog_images; im->name; im++, seen++) {
        const char *t = bg_embedded(im->name);
        assert_non_null(t);
        assert_int_equal(im->len, strlen(t));
        assert_true(im->hash == bg_catalog_hash(t, strlen(t)));
        static secs s;
        s.n = 0;
        assert_int_equal(bg_catalog_sections_of(t, strlen(t), add_sec, &s), 0);
        assert_int_equal(im->nsec, s.n);
        assert_true(s.n > 30);
        for (size_t i = 0; i < s.n; i++) {
            assert_string_equal(im->sec[i].name, s.name[i]);
            assert_int_equal(im->sec[i].start, s.start[i]);
            assert_int_equal(im->sec[i].end, s.end[i]);
            assert_true(t[s.start[i]] == '[');
        }
    }
    assert_true(seen >= 1);
    assert_true(bg_catalog_hash("a", 1) != bg_catalog_hash("b", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_is_used),
        cmocka_unit_test(test_image_equals_fresh_parse),
        cmocka_unit_test(test_admin_rules_over_image),
        cmocka_unit_test(test_ac_borrow),
        cmocka_unit_test(test_ac_matches_brute_force),
        cmocka_unit_test(test_catalog_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
