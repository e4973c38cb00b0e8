/* Unit tests: bg_mime (walker, bounds, parameters, decoders). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bg_header.h"
#include "bg_mime.h"

/* The body of part i as a string (for comparisons). */
static char *body_of(const char *msg, const bg_mime_part *pt)
{
    size_t n = pt->end - pt->body_off;
    char *s = malloc(n + 1);
    memcpy(s, msg + pt->body_off, n);
    s[n] = '\0';
    return s;
}

static const char nested[] =
    "Content-Type: multipart/report; report-type=Delivery-Status;\n"
    "  boundary=\"outer\"\n"
    "\n"
    "preamble\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=inner\n"
    "\n"
    "--inner\n"
    "Content-Type: text/plain; charset=\"ISO-8859-1\"\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=E9 =\n"
    "soft\n"
    "--inner\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>x</p>\n"
    "--inner--\n"
    "--outer\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; x\n"
    "--outer  \n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: orig\n"
    "\n"
    "--outer--\n"
    "epilogue\n";

static void mime_nested(void **state)
{
    (void)state;
    bg_mime m;
    size_t len = strlen(nested);
    assert_int_equal(bg_mime_walk(&m, nested, 0, len, '\n', 16, 1000), 6);
    static const struct {
        const char *type;
        unsigned depth;
        int parent;
    } want[] = {
        {"multipart/report", 0, -1}, {"multipart/alternative", 1, 0}, {"text/plain", 2, 1},
        {"text/html", 2, 1},         {"message/delivery-status", 1, 0}, {"message/rfc822", 1, 0},
    };
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(m.parts[i].type, want[i].type);
        assert_int_equal(m.parts[i].depth, want[i].depth);
        assert_int_equal(m.parts[i].parent, want[i].parent);
    }
    assert_string_equal(m.parts[0].report_type, "delivery-status");
    assert_string_equal(m.parts[0].boundary, "outer");
    assert_int_equal(m.parts[0].nchild, 3);
    assert_int_equal(m.parts[0].truncated, 0);
    assert_string_equal(m.parts[2].charset, "ISO-8859-1");
    assert_int_equal(m.parts[2].enc, BG_ENC_QP);
    char *b = body_of(nested, &m.parts[4]);
    assert_string_equal(b, "Reporting-MTA: dns; x"); /* the line end belongs to the delimiter */
    free(b);
    /* a part starts at its headers */
    assert_memory_equal(nested + m.parts[5].off, "Content-Type: message/rfc822", 28);
    bg_buf t;
    bg_buf_init(&t);
    bg_mime_text(nested, &m.parts[2], &t, 1000);
    assert_string_equal(bg_buf_str(&t), "caf\xc3\xa9 soft");
    bg_buf_free(&t);
    bg_mime_free(&m);
}

static void mime_crlf_and_truncated(void **state)
{
    (void)state;
    static const char msg[] = "Content-Type: multipart/mixed; boundary=b\r\n"
                              "\r\n"
                              "--b\r\n"
                              "\r\n"
                              "first\r\n"
                              "--b\r\n"
                              "Content-Type: text/plain\r\n"
                              "\r\n"
                              "cut off in the midd";
    bg_mime m;
    assert_int_equal(bg_mime_walk(&m, msg, 0, strlen(msg), '\n', 16, 1000), 3);
    char *b = body_of(msg, &m.parts[1]);
    assert_string_equal(b, "first");
    free(b);
    assert_string_equal(m.parts[1].type, "text/plain"); /* default */
    b = body_of(msg, &m.parts[2]);
    assert_string_equal(b, "cut off in the midd");
    free(b);
    assert_int_equal(m.parts[0].truncated, 1);
    bg_mime_free(&m);
}

static void mime_guessed_boundary(void **state)
{
    (void)state;
    /* the declared boundary never occurs (anonymised corpus files) */
    static const char msg[] = "Content-Type: multipart/report; boundary=\"declared\"\n"
                              "\n"
                              "--actual.1/x\n"
                              "\n"
                              "text\n"
                              "--actual.1/x\n"
                              "Content-Type: message/delivery-status\n"
                              "\n"
                              "Action: failed\n"
                              "--actual.1/x--\n";
    bg_mime m;
    assert_int_equal(bg_mime_walk(&m, msg, 0, strlen(msg), '\n', 16, 1000), 3);
    assert_string_equal(m.parts[2].type, "message/delivery-status");
    bg_mime_free(&m);
    /* no delimiter at all: the multipart is a leaf */
    static const char none[] = "Content-Type: multipart/mixed; boundary=zz\n\nonly text\n";
    assert_int_equal(bg_mime_walk(&m, none, 0, strlen(none), '\n', 16, 1000), 1);
    assert_int_equal(m.parts[0].nchild, 0);
    bg_mime_free(&m);
}

static void mime_bounds(void **state)
{
    (void)state;
    /* 40 nested multiparts: the depth bound stops the walk */
    bg_buf b;
    bg_buf_init(&b);
    for (int i = 0; i < 40; i++)
        bg_buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
    bg_buf_adds(&b, "\ninnermost\n");
    bg_mime m;
    size_t n = bg_mime_walk(&m, b.p, 0, b.len, '\n', 16, 1000);
    assert_int_equal(n, 17);
    assert_int_equal(m.limited, 1);
    bg_mime_free(&m);
    /* 5000 parts: the part bound */
    bg_buf_reset(&b);
    bg_buf_adds(&b, "Content-Type: multipart/mixed; boundary=p\n\n");
    for (int i = 0; i < 5000; i++)
        bg_buf_adds(&b, "--p\n\nx\n");
    n = bg_mime_walk(&m, b.p, 0, b.len, '\n', 16, 1000);
    assert_int_equal(n, 1000);
    assert_int_equal(m.limited, 1);
    bg_mime_free(&m);
    bg_buf_free(&b);
}

static void mime_params(void **state)
{
    (void)state;
    static const struct {
        const char *val;
        const char *name;
        const char *out;
    } cases[] = {
        {"text/plain; charset=us-ascii", "charset", "us-ascii"},
        {"text/plain; CHARSET = \"UTF-8\" ; format=flowed", "charset", "UTF-8"},
        {"multipart/mixed; boundary=\"a;b c\\\"d\"", "boundary", "a;b c\"d"},
        {"application/x; name*=utf-8''caf%C3%A9.txt", "name", "caf\xc3\xa9.txt"},
        {"application/x; name*=iso-8859-1'en'caf%E9", "name", "caf\xc3\xa9"},
        {"application/x; name*0=\"one\"; name*1=\"two\"", "name", "onetwo"},
        {"application/x; name*0*=us-ascii''a%20b; name*1=c", "name", "a bc"},
        {"application/x; name=plain; name*=utf-8''ext", "name", "ext"},
        {"text/plain; charset", "charset", ""},
        {"text/plain", "charset", ""},
        {"text/plain; charsetx=1; charset=2", "charset", "2"},
        {NULL, NULL, NULL},
    };
    for (int i = 0; cases[i].val; i++) {
        char out[64];
        bg_mime_param(cases[i].val, strlen(cases[i].val), cases[i].name, out, sizeof out);
        if (strcmp(out, cases[i].out))
            fail_msg("case %d [%s]: got [%s] want [%s]", i, cases[i].val, out, cases[i].out);
    }
}

static void mime_decoders(void **state)
{
    (void)state;
    static const struct {
        bg_mime_enc enc;
        const char *in;
        const char *out;
    } cases[] = {
        {BG_ENC_BASE64, "aGVsbG8g\nd29ybGQ=\n", "hello world"},
        {BG_ENC_BASE64, "aGVs!!bG8=", "hello"},             /* junk skipped */
        {BG_ENC_BASE64, "aGVsbG", "hell"},                  /* truncated */
        {BG_ENC_QP, "a=3Db=\r\nc", "a=bc"},
        {BG_ENC_QP, "soft=  \nbreak", "softbreak"},
        {BG_ENC_QP, "bad=G1 end=", "bad=G1 end"},
        {BG_ENC_QP, "=4", "=4"},
        {BG_ENC_IDENTITY, "as is", "as is"},
        {0, NULL, NULL},
    };
    for (int i = 0; cases[i].in; i++) {
        bg_buf b;
        bg_buf_init(&b);
        bg_mime_decode(cases[i].in, strlen(cases[i].in), cases[i].enc, &b, 1000);
        if (strcmp(bg_buf_str(&b), cases[i].out))
            fail_msg("case %d: got [%s] want [%s]", i, bg_buf_str(&b), cases[i].out);
        bg_buf_free(&b);
    }
    bg_buf b;
    bg_buf_init(&b);
    bg_mime_decode("aGVsbG8gd29ybGQ=", 16, BG_ENC_BASE64, &b, 4);
    assert_int_equal(b.len, 4);
    bg_buf_reset(&b);
    bg_text_lines("a\r\nb\rc\nd\x00", 9, &b, 100);
    assert_string_equal(bg_buf_str(&b), "a\nb\nc\nd");
    bg_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mime_nested),
        cmocka_unit_test(mime_crlf_and_truncated),
        cmocka_unit_test(mime_guessed_boundary),
        cmocka_unit_test(mime_bounds),
        cmocka_unit_test(mime_params),
        cmocka_unit_test(mime_decoders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
