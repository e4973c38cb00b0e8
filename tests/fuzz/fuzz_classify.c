/* libFuzzer target for the classifier: what a remote server said, in any
 * form, through bg_classify_rcpt and bg_classify_text with the built-in
 * rules.
 *
 * Input: a first line "STATUS TYPE ACTION PARSER REMOTE-MTA" (blank
 * separated, missing tokens are ""), then the diagnostic text. The fields
 * of the recipient are cleaned as the reader cleans them (bg_text_clean),
 * because bg_classify_rcpt is only ever given reader output; the raw text
 * goes to bg_classify_text unchanged (Exim's transport event hands it over
 * as it came). Besides the sanitizers it checks the classifier's promises:
 * a category is always set, the status is a valid enhanced code or "",
 * the rule name is terminated, a 4xx or a delay never suppresses at once.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bg_bounce.h"
#include "bg_category.h"
#include "bg_classify.h"
#include "bg_header.h"
#include "bg_status.h"

static bg_rules *bg_fuzz_rules;

/* Load the built-in rules once per process. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    bg_fuzz_rules = bg_rules_load(NULL);
    if (!bg_fuzz_rules || bg_rules_count(bg_fuzz_rules) == 0)
        abort();
    return 0;
}

/* The verdict keeps the classifier's promises. */
static void bg_fuzz_verdict(const bg_verdict *v, int temporary)
{
    if (!v->category || !v->category->id || !v->category->id[0])
        __builtin_trap();
    if (!memchr(v->status, '\0', sizeof v->status) || !memchr(v->rule, '\0', sizeof v->rule))
        __builtin_trap();
    if (v->status[0] && bg_status_valid(v->status) != strlen(v->status))
        __builtin_trap();
    if (!v->rule[0])
        __builtin_trap();
    if (v->reply_code != 0 && (v->reply_code < 200 || v->reply_code > 599))
        __builtin_trap();
    /* docs/taxonomy.md: a temporary failure never suppresses at once */
    if (temporary && (v->suppress == BG_SUP_ADDRESS || v->suppress == BG_SUP_DOMAIN))
        __builtin_trap();
}

/* Next blank-separated token of [*p, end) into out (cleaned, bounded). */
static void bg_fuzz_token(const char **p, const char *end, char *out, size_t outlen)
{
    const char *s = *p;
    while (s < end && *s == ' ')
        s++;
    const char *e = s;
    while (e < end && *e != ' ')
        e++;
    bg_text_clean(out, outlen, s, (size_t)(e - s), 0);
    *p = e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data, *end = in + size;
    const char *nl = memchr(in, '\n', size);
    const char *hend = nl ? nl : end;
    const char *diag = nl ? nl + 1 : end;

    bg_bounce *b = calloc(1, sizeof *b);
    if (!b)
        return 0;
    b->kind = BG_MSG_FAILURE;
    b->format = BG_FMT_DSN;
    b->human_text = (char *)"";
    bg_rcpt *rc = bg_bounce_add_rcpt(b);
    if (!rc) {
        b->human_text = NULL;
        bg_bounce_free(b);
        return 0;
    }
    const char *p = in;
    bg_fuzz_token(&p, hend, rc->status, sizeof rc->status);
    bg_fuzz_token(&p, hend, rc->diag_type, sizeof rc->diag_type);
    bg_fuzz_token(&p, hend, rc->action, sizeof rc->action);
    bg_fuzz_token(&p, hend, b->parser, sizeof b->parser);
    bg_fuzz_token(&p, hend, rc->remote_mta, sizeof rc->remote_mta);
    bg_text_clean(rc->diagnostic, sizeof rc->diagnostic, diag, (size_t)(end - diag), 0);
    memcpy(rc->recipient, "user@example.com", sizeof "user@example.com");
    if (!strcmp(rc->action, "delayed"))
        b->kind = BG_MSG_DELAY;

    bg_verdict v;
    memset(&v, 0x5a, sizeof v);
    bg_classify_rcpt(bg_fuzz_rules, b, rc, &v);
    int temporary = b->kind == BG_MSG_DELAY || v.status[0] == '4' ||
                    (v.reply_code >= 400 && v.reply_code < 500);
    bg_fuzz_verdict(&v, temporary);

    /* the transport event's raw text: NUL-terminated copy of the rest */
    size_t dl = (size_t)(end - diag);
    char *raw = malloc(dl + 1);
    if (raw) {
        memcpy(raw, diag, dl);
        raw[dl] = '\0';
        for (int deferred = 0; deferred <= 1; deferred++) {
            memset(&v, 0x5a, sizeof v);
            bg_classify_text(bg_fuzz_rules, raw, deferred, &v);
            bg_fuzz_verdict(&v, deferred || v.status[0] == '4' ||
                                    (v.reply_code >= 400 && v.reply_code < 500));
        }
        free(raw);
    }
    b->human_text = NULL;
    bg_bounce_free(b);
    return 0;
}
