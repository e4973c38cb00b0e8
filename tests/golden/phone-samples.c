/* phone-samples: the bounces the phone check measures (make phone-check).
 *
 * Renders one real single-recipient bounce (tests/golden/screenshot.eml)
 * once per shipped language, per failure category and as a failure and a
 * delay warning, with the category set by hand (the classifier is not
 * what is measured), and writes each whole message to
 * OUTDIR/LANG-CATEGORY-{failed,delayed}.eml. The config gives branding
 * (organisation, help desk) and the timing line (4 days of retries) to
 * every delay and to the failures that can end a run of deferrals, so the
 * longest variants of the texts are the ones measured.
 * usage: phone-samples BOUNCE.eml CONFIG OUTDIR LANG...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_bounce.h"
#include "bg_bounce_read.h"
#include "bg_buf.h"
#include "bg_catalog.h"
#include "bg_category.h"
#include "bg_classify.h"
#include "bg_config.h"
#include "bg_render.h"

static char *slurp(const char *path, size_t *len)
{
    bg_buf b;
    bg_buf_init(&b);
    const char *why;
    if (bg_buf_read_file(&b, path, 1u << 24, &why) < 0) {
        fprintf(stderr, "phone-samples: %s: %s\n", path, why);
        exit(1);
    }
    *len = b.len;
    return bg_buf_take(&b);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: phone-samples BOUNCE.eml CONFIG OUTDIR LANG...\n");
        return 2;
    }
    size_t len;
    char *msg = slurp(argv[1], &len);
    char err[512];
    bg_config *cfg = bg_config_load(argv[2], err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "phone-samples: %s\n", err);
        return 1;
    }
    bg_rules *rules = bg_rules_load(NULL);
    size_t ncat = 0, written = 0;
    const bg_category *t = bg_category_table(&ncat);
    for (int li = 4; li < argc; li++) {
        bg_catalog *cat = bg_catalog_load(argv[li], NULL);
        for (size_t ci = 0; ci < ncat; ci++) {
            if (!t[ci].failure)
                continue;
            for (int delay = 0; delay < 2; delay++) {
                bg_read_status rs;
                bg_bounce *b = bg_bounce_read(msg, len, NULL, &rs);
                if (!b || b->nrcpt != 1) {
                    fprintf(stderr, "phone-samples: %s: not a one-recipient bounce\n", argv[1]);
                    return 1;
                }
                bg_verdict v;
                bg_classify_rcpt(rules, b, &b->rcpts[0], &v);
                v.category = &t[ci];
                /* the longest card: with the timing line (how long we
                 * tried, since when) in every delay, and in a failure
                 * whose cause can come as a give-up after days of
                 * deferrals (issue 16: the transient causes, expired) */
                v.tried_since = 1795961527; /* 2026-11-29 14:12:07 UTC */
                v.tried_for = 4 * 86400;
                v.gave_up = t[ci].transient || strcmp(t[ci].id, "expired") == 0;
                if (delay) {
                    b->kind = BG_MSG_DELAY;
                    snprintf(b->rcpts[0].action, sizeof b->rcpts[0].action, "delayed");
                    snprintf(b->rcpts[0].will_retry_until, sizeof b->rcpts[0].will_retry_until,
                             "Thu, 26 Nov 2026 14:12:07 +0000");
                }
                bg_render_input in = {.msg = msg, .len = len, .bounce = b, .verdicts = &v,
                                      .catalog = cat, .config = cfg, .sender_domain = ""};
                bg_render_output out;
                bg_buf full;
                bg_buf_init(&full);
                if (bg_render(&in, &out, err, sizeof err) != BG_RENDER_OK ||
                    bg_render_apply(msg, len, b, &out, &full) < 0) {
                    fprintf(stderr, "phone-samples: %s/%s: %s\n", argv[li], t[ci].id, err);
                    return 1;
                }
                char path[4096];
                snprintf(path, sizeof path, "%s/%s-%s-%s.eml", argv[3], argv[li], t[ci].id,
                         delay ? "delayed" : "failed");
                FILE *f = fopen(path, "wb");
                if (!f || fwrite(full.p, 1, full.len, f) != full.len || fclose(f) != 0) {
                    perror(path);
                    return 1;
                }
                written++;
                bg_buf_free(&full);
                bg_render_output_free(&out);
                bg_bounce_free(b);
            }
        }
        bg_catalog_free(cat);
    }
    printf("phone-samples: %zu bounces in %s\n", written, argv[3]);
    bg_rules_free(rules);
    bg_config_free(cfg);
    free(msg);
    return 0;
}
