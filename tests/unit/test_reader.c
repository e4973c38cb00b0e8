/* Unit tests: reader cases of issue 16.
 *
 * - an X.400 Final-Recipient (or Exchange's IMCEAEX- encapsulation of one)
 *   is no mailbox: the Original-Recipient is the recipient;
 * - a plain-text refusal with no DSN part, a localized Subject and no
 *   mailer-daemon From is still a bounce (its own 5xx x.y.z reply line or
 *   its Subject says so), not "not a bounce".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bg_bounce.h"
#include "bg_bounce_read.h"
#include "bg_classify.h"

static bg_bounce *rd(const char *m)
{
    bg_read_status st;
    bg_bounce *b = bg_bounce_read(m, strlen(m), NULL, &st);
    assert_non_null(b);
    return b;
}

static const char *dsn_x400 =
    "From: postmaster@gw.example\nTo: a@ours.example\nSubject: Delivery Status Notification\n"
    "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
    "boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nNot delivered.\n\n--B\n"
    "Content-Type: message/delivery-status\n\nReporting-MTA: dns; gw.example\n\n"
    "Original-Recipient: rfc822;bob@theirs.example\n"
    "Final-Recipient: x400; /C=DE/ADMD=x/PRMD=y/O=Org/S=Bob/\nAction: failed\nStatus: 5.1.1\n\n"
    "Original-Recipient: rfc822;carol@theirs.example\n"
    "Final-Recipient: rfc822;IMCEAEX-_O=ORG_OU=EXCHANGE_CN=RECIPIENTS_CN=CAROL@theirs.example\n"
    "Action: failed\nStatus: 5.1.1\n\n"
    "Final-Recipient: rfc822;dave@theirs.example\nAction: failed\nStatus: 5.1.1\n\n--B--\n";

static void x400_final_recipient(void **state)
{
    (void)state;
    bg_bounce *b = rd(dsn_x400);
    assert_int_equal(b->nrcpt, 3);
    assert_string_equal(b->rcpts[0].recipient, "bob@theirs.example");
    assert_string_equal(b->rcpts[1].recipient, "carol@theirs.example");
    assert_string_equal(b->rcpts[2].recipient, "dave@theirs.example");
    bg_bounce_free(b);
}

static void plain_text_refusals(void **state)
{
    (void)state;
    static const char *const msgs[] = {
        /* German Exchange subject, an ordinary From */
        "From: Microsoft Outlook <admin@theirs.example>\nTo: a@ours.example\n"
        "Subject: Unzustellbar: Angebot\n\nDie Nachricht konnte nicht zugestellt werden.\n\n"
        "bob@theirs.example\n550 5.1.1 RESOLVER.ADR.RecipNotFound; not found\n",
        /* no subject hint at all: its own refusal line says so */
        "From: gateway@theirs.example\nTo: a@ours.example\nSubject: Re: your mail\n\n"
        "550 5.1.1 <bob@theirs.example>: Recipient address rejected: User unknown\n",
    };
    bg_rules *r = bg_rules_load(NULL);
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        bg_bounce *b = rd(msgs[i]);
        assert_int_equal(b->kind, BG_MSG_FAILURE);
        assert_true(b->nrcpt >= 1);
        assert_string_equal(b->rcpts[0].recipient, "bob@theirs.example");
        bg_verdict v;
        bg_classify_rcpt(r, b, &b->rcpts[0], &v);
        assert_string_equal(v.category->id, "unknown-user");
        bg_bounce_free(b);
    }
    bg_rules_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(x400_final_recipient),
        cmocka_unit_test(plain_text_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
