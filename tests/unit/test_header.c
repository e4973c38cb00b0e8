/* Unit tests: bg_header (header blocks, unfolding, RFC 2047, charsets,
 * addresses, sanitising). Table-driven where the cases are alike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bg_addr.h"
#include "bg_header.h"

static void header_block(void **state)
{
    (void)state;
    static const char msg[] = "From: a@b.example\n"
                              "Subject: one\n"
                              "  two\n"
                              "\tthree\n"
                              "X-Empty:\n"
                              "subject: second\n"
                              "\n"
                              "body\n";
    bg_hdrs h;
    size_t len = strlen(msg);
    assert_int_equal(bg_hdrs_parse(&h, msg, 0, len, '\n'), 4);
    char v[64];
    assert_int_equal(bg_hdrs_get(&h, "SUBJECT", v, sizeof v), strlen("one two three"));
    assert_string_equal(v, "one two three");
    assert_int_equal(bg_hdrs_find(&h, "subject", 2), 3);
    assert_int_equal(bg_hdrs_find(&h, "Missing", 0), -1);
    assert_int_equal(bg_hdrs_get(&h, "X-Empty", v, sizeof v), 0);
    assert_string_equal(v, "");
    assert_int_equal(bg_hdrs_get(&h, "Nope", v, sizeof v), 0);
    assert_string_equal(msg + h.body_off, "body\n");
    assert_int_equal(h.block_end, (size_t)(strstr(msg, "\n\n") - msg) + 1);
    bg_hdrs_free(&h);
}

static void header_block_ends(void **state)
{
    (void)state;
    static const struct {
        const char *label;
        const char *msg;
        char eol;
        size_t nfields;
        const char *body;
    } cases[] = {
        {"crlf", "A: 1\r\nB: 2\r\n\r\nbody", '\n', 2, "body"},
        {"cr only", "A: 1\rB: 2\r\rbody", '\r', 2, "body"},
        {"no blank line", "A: 1\nnot a header line\nmore", '\n', 1, "not a header line\nmore"},
        {"starts with body", "just text\n", '\n', 0, "just text\n"},
        {"starts with continuation", " x: y\n\n", '\n', 0, " x: y\n\n"},
        {"space before colon", "Subject : hi\n\nb", '\n', 1, "b"},
        {"no body at all", "A: 1\nB: 2", '\n', 2, ""},
        {"8-bit name is not a field", "A: 1\n\xc3\xa9: 2\n", '\n', 1, "\xc3\xa9: 2\n"},
        {NULL, NULL, 0, 0, NULL},
    };
    for (int i = 0; cases[i].label; i++) {
        bg_hdrs h;
        size_t len = strlen(cases[i].msg);
        assert_int_equal(bg_eol_detect(cases[i].msg, len), cases[i].eol);
        size_t n = bg_hdrs_parse(&h, cases[i].msg, 0, len, cases[i].eol);
        if (n != cases[i].nfields || strcmp(cases[i].msg + h.body_off, cases[i].body))
            fail_msg("%s: %zu fields, body [%s]", cases[i].label, n, cases[i].msg + h.body_off);
        bg_hdrs_free(&h);
    }
}

static void header_many_fields_and_long_lines(void **state)
{
    (void)state;
    /* 5000 fields (heap growth) and a 1 MB line */
    bg_buf b;
    bg_buf_init(&b);
    for (int i = 0; i < 5000; i++)
        bg_buf_printf(&b, "X-F%d: %d\n", i, i);
    bg_buf_adds(&b, "X-Long: ");
    for (int i = 0; i < (1 << 20); i++)
        bg_buf_addc(&b, 'a' + i % 26);
    bg_buf_adds(&b, "\nSubject: last\n\nbody");
    bg_hdrs h;
    assert_int_equal(bg_hdrs_parse(&h, b.p, 0, b.len, '\n'), 5002);
    char v[32];
    bg_hdrs_get(&h, "X-F4999", v, sizeof v);
    assert_string_equal(v, "4999");
    bg_hdrs_get(&h, "X-Long", v, sizeof v);
    assert_string_equal(v, "abcdefghijklmnopqrstuvwxyzabcde");
    bg_hdrs_get_decoded(&h, "X-Long", v, sizeof v);
    assert_string_equal(v, "abcdefghijklmnopqrstuvwxyzabcde");
    bg_hdrs_get(&h, "Subject", v, sizeof v);
    assert_string_equal(v, "last");
    bg_hdrs_free(&h);
    bg_buf_free(&b);
}

static void rfc2047(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"plain text", "plain text"},
        {"=?UTF-8?Q?caf=C3=A9_au_lait?=", "caf\xc3\xa9 au lait"},
        {"=?utf-8?B?w6l0w6k=?=", "\xc3\xa9t\xc3\xa9"},
        {"=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard"},
        {"=?iso-8859-1?q?a?= =?iso-8859-1?q?b?=", "ab"},           /* blanks between words go */
        {"=?iso-8859-1?q?a?=  \t =?iso-8859-1?q?b?=", "ab"},
        {"x =?iso-8859-1?q?a?= y", "x a y"},                     /* other blanks stay */
        {"=?UTF-8*en?Q?hi?=", "hi"},                             /* RFC 2231 language */
        {"=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88"},
        {"=?windows-1252?Q?=93quoted=94?=", "\xe2\x80\x9cquoted\xe2\x80\x9d"},
        {"=?bogus-charset?Q?ok?=", "ok"},
        {"=?utf-8?X?nope?=", "=?utf-8?X?nope?="},                /* not an encoded word */
        {"=?utf-8?Q?unterminated", "=?utf-8?Q?unterminated"},
        {"=?utf-8?Q?bad=ZZhex?=", "bad=ZZhex"},
        {"=?utf-8?B?/w==?=", "?"},                                /* invalid UTF-8 byte */
        {"=?utf-8?Q?a=0Db=0Ac?=", "a b c"},                       /* no CR/LF survive */
        {NULL, NULL},
    };
    for (int i = 0; cases[i].in; i++) {
        char out[128];
        bg_rfc2047_decode(cases[i].in, strlen(cases[i].in), out, sizeof out);
        if (strcmp(out, cases[i].out))
            fail_msg("case %d [%s]: got [%s] want [%s]", i, cases[i].in, out, cases[i].out);
    }
}

static void text_clean(void **state)
{
    (void)state;
    char out[8];
    /* truncation never splits a UTF-8 sequence: 3 x 2 bytes fit in 7 */
    assert_int_equal(bg_text_clean(out, sizeof out, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8, 0), 6);
    assert_string_equal(out, "\xc3\xa9\xc3\xa9\xc3\xa9");
    char big[64];
    const char *t1 = "  a\r\n\t b\x01\x7f c  ";
    bg_text_clean(big, sizeof big, t1, strlen(t1), 0);
    assert_string_equal(big, "a b c");
    const char *t2 = "l1\r\nl2\n\tx\x02y";
    bg_text_clean(big, sizeof big, t2, strlen(t2), BG_CLEAN_LINES);
    assert_string_equal(big, "l1\nl2\n\txy");
    bg_text_clean(big, sizeof big, "\xff\xfe ok \xed\xa0\x80", 9, 0); /* surrogate rejected */
    assert_string_equal(big, "?? ok ???");
    /* in place */
    char inplace[] = "a\r\nb";
    bg_text_clean(inplace, sizeof inplace, inplace, strlen(inplace), BG_CLEAN_LINES);
    assert_string_equal(inplace, "a\nb");
}

static void charsets(void **state)
{
    (void)state;
    bg_buf b;
    bg_buf_init(&b);
    assert_int_equal(bg_charset_to_utf8("\"ISO-8859-15\"", "\xa4", 1, &b, 100), 0);
    assert_string_equal(bg_buf_str(&b), "\xe2\x82\xac"); /* euro sign */
    bg_buf_reset(&b);
    bg_charset_to_utf8("latin1", "caf\xe9", 4, &b, 100);
    assert_string_equal(bg_buf_str(&b), "caf\xc3\xa9");
    bg_buf_reset(&b);
    bg_charset_to_utf8("utf-8", "0123456789", 10, &b, 4); /* limit */
    assert_string_equal(bg_buf_str(&b), "0123");
    bg_buf_reset(&b);
    bg_charset_to_utf8("ISO-2022-JP", "\xa5\xc6\xa5\xb9\xa5\xc8", 6, &b, 100); /* EUC-JP */
    assert_string_equal(bg_buf_str(&b), "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88");
    bg_buf_reset(&b);
    bg_charset_to_utf8("shift_jis", "\x83\x65\x83\x58\x83\x67", 6, &b, 100);
    assert_string_equal(bg_buf_str(&b), "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88");
    bg_buf_free(&b);
}

static void addresses(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"rfc822; user@example.com", "user@example.com"},
        {"RFC822;<user@example.com>", "user@example.com"},
        {"utf-8; \xc3\xbcser@example.com", "\xc3\xbcser@example.com"},
        {"\"Doe, John\" <john@example.org>", "john@example.org"},
        {"Name <not-an-address> <real@example.org>", "real@example.org"},
        {"user@example.com (Comment)", "user@example.com"},
        {"  user@example.com.  ", "user@example.com"},
        {"Unrouteable address: user@example.com", "user@example.com"},
        {"rfc822; postmaster", "postmaster"},
        {"x-unknown; <broken", "broken"},
        {"", ""},
        {"<>", ""},
        {NULL, NULL},
    };
    for (int i = 0; cases[i].in; i++) {
        char out[64];
        bg_addr_extract(cases[i].in, strlen(cases[i].in), out, sizeof out);
        if (strcmp(out, cases[i].out))
            fail_msg("case %d [%s]: got [%s] want [%s]", i, cases[i].in, out, cases[i].out);
    }
    char small[8];
    bg_addr_extract("long.address@example.com", 24, small, sizeof small);
    assert_int_equal(strlen(small), 7);
}

static void memcasemem(void **state)
{
    (void)state;
    const char *s = "abc Hello World";
    assert_ptr_equal(bg_memcasemem(s, strlen(s), "hello"), s + 4);
    assert_null(bg_memcasemem(s, 8, "hello")); /* bounded by len */
    assert_null(bg_memcasemem(s, strlen(s), "xyz"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_block),
        cmocka_unit_test(header_block_ends),
        cmocka_unit_test(header_many_fields_and_long_lines),
        cmocka_unit_test(rfc2047),
        cmocka_unit_test(text_clean),
        cmocka_unit_test(charsets),
        cmocka_unit_test(addresses),
        cmocka_unit_test(memcasemem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
