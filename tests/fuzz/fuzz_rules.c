/* libFuzzer target for the rules-file loader: arbitrary bytes as a rules
 * file through bg_rules_parse, alone and as an admin file over the
 * built-in rules, then a few fixed replies classified with the result.
 *
 * The text is handed over without a terminating NUL, so any read past its
 * end is caught. Checks: a rejected file says why ("origin:line: ..."), an
 * accepted one classifies every reply to a category with a rule name, and
 * an admin file over the built-in set never loses the base (bg_rules_parse
 * does not modify its base).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_bounce.h"
#include "bg_category.h"
#include "bg_classify.h"
#include "bg_status.h"

static bg_rules *bg_fuzz_base;
static size_t bg_fuzz_base_count;

static const char *const bg_fuzz_texts[] = {
    "SMTP error from remote mail server after RCPT TO:<bob@example.net>: "
    "550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown",
    "452 4.2.2 Mailbox full, try again later",
    "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
    "",
    NULL,
};

/* The built-in rules, once per process. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    bg_fuzz_base = bg_rules_load(NULL);
    if (!bg_fuzz_base || (bg_fuzz_base_count = bg_rules_count(bg_fuzz_base)) == 0)
        abort();
    return 0;
}

/* Classify the fixed replies with r and check each verdict. */
static void bg_fuzz_use(const bg_rules *r)
{
    bg_bounce b;
    bg_rcpt rc;
    memset(&b, 0, sizeof b);
    memset(&rc, 0, sizeof rc);
    b.kind = BG_MSG_FAILURE;
    b.format = BG_FMT_DSN;
    b.nrcpt = 1;
    b.rcpts = &rc;
    memcpy(b.parser, "exim", 5);
    memcpy(rc.recipient, "bob@example.net", 16);
    memcpy(rc.action, "failed", 7);
    memcpy(rc.status, "5.0.0", 6);
    memcpy(rc.remote_mta, "mx.example.net", 15);
    memcpy(rc.diag_type, "smtp", 5);
    for (size_t i = 0; bg_fuzz_texts[i]; i++) {
        bg_verdict v;
        bg_classify_text(r, bg_fuzz_texts[i], (int)(i & 1), &v);
        if (!v.category || !v.category->id || !v.rule[0] ||
            !memchr(v.rule, '\0', sizeof v.rule) ||
            (v.status[0] && bg_status_valid(v.status) != strlen(v.status)))
            __builtin_trap();
        snprintf(rc.diagnostic, sizeof rc.diagnostic, "%s", bg_fuzz_texts[i]);
        bg_classify_rcpt(r, &b, &rc, &v);
        if (!v.category || !v.category->id || !v.rule[0])
            __builtin_trap();
    }
}

/* A rejected text gives a one-line reason naming the origin. */
static void bg_fuzz_err(const char *err, size_t errlen)
{
    if (!memchr(err, '\0', errlen) || strncmp(err, "fuzz", 4) != 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[300];
    const char *text = (const char *)data;

    /* the text alone (how the built-in file is parsed) */
    memset(err, 'x', sizeof err);
    bg_rules *r = bg_rules_parse(NULL, text, size, "fuzz", err, sizeof err);
    if (r) {
        bg_fuzz_use(r);
        bg_rules_free(r);
    } else {
        bg_fuzz_err(err, sizeof err);
    }

    /* the text as an admin file over the built-in rules */
    memset(err, 'x', sizeof err);
    r = bg_rules_parse(bg_fuzz_base, text, size, "fuzz", err, sizeof err);
    if (r) {
        bg_fuzz_use(r);
        bg_rules_free(r);
    } else {
        bg_fuzz_err(err, sizeof err);
    }
    if (bg_rules_count(bg_fuzz_base) != bg_fuzz_base_count)
        __builtin_trap();
    bg_fuzz_use(bg_fuzz_base);
    return 0;
}
