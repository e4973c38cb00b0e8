/* Unit test: bg_stage, the SMTP command a refusal answered, table-driven
 * from the wording of Postfix, Exim, qmail, Sendmail/Courier transcripts
 * and texts that name no stage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_stage.h"

static const struct {
    const char *text;
    unsigned want;
} cases[] = {
    {"<a@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1 <a@example.net>: User "
     "unknown (in reply to RCPT TO command)", BG_STAGE_RCPT},
    {"550 Unknown user a@example.net (in reply to end of DATA\n    command)", BG_STAGE_DATA},
    {"550 5.7.1 Access denied (in reply to MAIL FROM command)", BG_STAGE_MAIL},
    {"host mx.example.net [192.0.2.1]: 501 5.5.2 Syntax (in reply to EHLO command)", BG_STAGE_HELO},
    {"SMTP error from remote mail server after RCPT TO:<a@example.net>: 550 5.1.1 no such user",
     BG_STAGE_RCPT},
    {"SMTP error from remote mail server after pipelined RCPT TO:<a@example.net>: 550 no",
     BG_STAGE_RCPT},
    {"SMTP error from remote mail server after end of data: 550 5.7.1 spam", BG_STAGE_DATA},
    {"SMTP error from remote mail server after MAIL FROM:<s@example.org> SIZE=1000: 553 no",
     BG_STAGE_MAIL},
    {"SMTP error from remote mail server after initial connection: 554 go away", BG_STAGE_CONNECT},
    {"host mx.example.net[192.0.2.1] refused to talk to me: 554 5.7.1 blocked", BG_STAGE_CONNECT},
    {"192.0.2.1 does not like recipient.\nRemote host said: 550 5.1.1 unknown", BG_STAGE_RCPT},
    {"192.0.2.1 failed after I sent the message.\nRemote host said: 554 spam", BG_STAGE_DATA},
    {"Connected to 192.0.2.1 but sender was rejected.\nRemote host said: 553 no", BG_STAGE_MAIL},
    {"Connected to 192.0.2.1 but my name was rejected.", BG_STAGE_HELO},
    /* transcripts: the last command before the first 4xx/5xx answer */
    {"... while talking to mx.example.net.:\n>>> RCPT To:<a@example.net>\n<<< 550 Unknown user\n"
     "550 5.1.1 <a@example.net>... User unknown\n>>> DATA\n<<< 503 Bad sequence of commands",
     BG_STAGE_RCPT},
    {"... while talking to mx.example.net.:\n>>> DATA\n<<< 550 Unknown user a@example.net\n"
     "554 5.0.0 Service unavailable", BG_STAGE_DATA},
    {"   ----- Transcript -----\n>>> MAIL From:<s@example.org> SIZE=6917278\n<<< 552 Message size "
     "exceeds maximum value", BG_STAGE_MAIL},
    {">>> .\n<<< 554 5.7.1 rejected as spam", BG_STAGE_DATA},
    {"  >>> RCPT TO:<a@example.net>\n  <<< 250 ok\n  >>> DATA\n  <<< 354 go\n  >>> .\n"
     "  <<< 550 5.7.1 content rejected", BG_STAGE_DATA},
    /* the earliest phrase wins when a text names two */
    {"550 rejected (in reply to RCPT TO command); earlier: after end of data", BG_STAGE_RCPT},
    /* no stage named */
    {"550 5.1.1 User unknown", 0},
    {"The data was corrupt after datagram loss", 0},
    {"", 0},
};

static void stage_table(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned got = bg_stage_find(cases[i].text, strlen(cases[i].text));
        if (got != cases[i].want) {
            print_error("case %zu: got %s, want %s\n  %s\n", i, bg_stage_name(got),
                        bg_stage_name(cases[i].want), cases[i].text);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    assert_int_equal(bg_stage_find(NULL, 10), 0);
}

static void stage_names(void **state)
{
    (void)state;
    assert_int_equal(bg_stage_parse("RCPT"), BG_STAGE_RCPT);
    assert_int_equal(bg_stage_parse("data"), BG_STAGE_DATA);
    assert_int_equal(bg_stage_parse("quit"), 0);
    assert_string_equal(bg_stage_name(BG_STAGE_HELO), "helo");
    assert_string_equal(bg_stage_name(3), "");
}

/* A long report costs a bounded scan: a phrase past the first 16 KB is
 * not read. */
static void stage_bounded(void **state)
{
    (void)state;
    size_t n = 100000;
    char *t = malloc(n + 64);
    assert_non_null(t);
    memset(t, 'x', n);
    strcpy(t + n, " (in reply to RCPT TO command)");
    assert_int_equal(bg_stage_find(t, n + 40), 0);
    memcpy(t + 100, " (in reply to RCPT TO command)", 30);
    assert_int_equal(bg_stage_find(t, n + 40), BG_STAGE_RCPT);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stage_table),
        cmocka_unit_test(stage_names),
        cmocka_unit_test(stage_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
