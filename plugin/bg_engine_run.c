/* bg_engine_run: one message through the engine (see bg_engine.h).
 *
 * read -> classify (+ the caller's causes) -> the caller's record ->
 * catalogues -> language -> the caller's diagnosis and facts -> render ->
 * header lines. Each step that cannot go on leaves the message as it was:
 * UNCHANGED when it is not ours to rewrite, PASSED (with one line of why)
 * when something went wrong. The header lines are written here, by
 * bg_render_fold_header, and nowhere else: Exim adds them as they are,
 * and bg_engine_apply puts the same bytes into the CLI's output.
 */
#include "bg_engine.h"
#include "bg_engine_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set the outcome and its one line. */
static bg_engine_outcome bg_engine_end(bg_engine_result *res, bg_engine_outcome o, int error,
                                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bg_engine_outcome bg_engine_end(bg_engine_result *res, bg_engine_outcome o, int error,
                                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->why, sizeof res->why, fmt, ap);
    va_end(ap);
    res->outcome = o;
    res->error = error;
    return o;
}

static void bg_engine_mark(const bg_engine_hooks *h, int stage)
{
    if (h && h->stage)
        h->stage(h->ctx, stage);
}

/* The render output's header edits as lines (bg_render_fold_header), in
 * the message's line ends. -1 on a bad field name or memory. */
static int bg_engine_fold(bg_engine_result *res, const char *eol)
{
    const bg_render_output *out = &res->render;
    if (out->nedits == 0)
        return 0;
    res->headers = calloc(out->nedits, sizeof *res->headers);
    size_t *off = calloc(out->nedits, sizeof *off);
    if (!res->headers || !off) {
        free(off);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < out->nedits && rc == 0; i++) {
        const bg_header_edit *ed = &out->edits[i];
        bg_engine_header *h = &res->headers[i];
        h->name = ed->name;
        h->remove = ed->remove;
        off[i] = res->lines.len;
        if (ed->value) {
            if (bg_render_fold_header(&res->lines, ed->name, ed->value, eol) < 0)
                rc = -1;
            h->len = res->lines.len - off[i];
        } else if (!ed->name[0] || strchr(ed->name, ':') || strpbrk(ed->name, " \t\r\n")) {
            rc = -1; /* a removal names a field too */
        }
    }
    if (rc == 0) {
        res->nheaders = out->nedits;
        for (size_t i = 0; i < res->nheaders; i++)
            if (res->headers[i].len)
                res->headers[i].line = res->lines.p + off[i];
    }
    free(off);
    return rc;
}

bg_engine_outcome bg_engine_run(bg_engine *e, const bg_engine_request *rq, bg_engine_result *res)
{
    memset(res, 0, sizeof *res);
    bg_buf_init(&res->lines);
    bg_buf_init(&res->render.body);
    res->read_status = BG_READ_OK;
    if (!e || !rq || !rq->msg)
        return bg_engine_end(res, BG_ENGINE_PASSED, 1, "incomplete request");
    const bg_engine_hooks *h = rq->hooks;
    const bg_config *cfg = bg_engine_config(e);
    if (!cfg)
        return bg_engine_end(res, BG_ENGINE_PASSED, 0, "%s", bg_engine_why(e));

    /* read */
    res->bounce = bg_bounce_read(rq->msg, rq->len, rq->limits, &res->read_status);
    if (!res->bounce)
        return bg_engine_end(res, BG_ENGINE_PASSED, 0, "cannot read the message (%s)",
                             bg_read_status_text(res->read_status));
    const bg_bounce *b = res->bounce;
    bg_engine_mark(h, BG_ENGINE_STAGE_READ);
    if (b->kind == BG_MSG_FEEDBACK && h && h->feedback) {
        h->feedback(h->ctx, cfg, b, rq->msg, rq->len);
        return bg_engine_end(res, BG_ENGINE_UNCHANGED, 0, "feedback report (recorded, not rewritten)");
    }
    if (b->kind != BG_MSG_FAILURE && b->kind != BG_MSG_DELAY)
        return bg_engine_end(res, BG_ENGINE_UNCHANGED, 0, "not a failure or delay report");
    if (b->nrcpt == 0)
        return bg_engine_end(res, BG_ENGINE_UNCHANGED, 0,
                             "no failed or delayed recipient to explain");

    /* classify */
    size_t n = b->nrcpt;
    res->verdicts = calloc(n, sizeof *res->verdicts);
    res->extra = calloc(n, sizeof *res->extra);
    if (!res->verdicts || !res->extra)
        return bg_engine_end(res, BG_ENGINE_PASSED, 1, "out of memory");
    if (bg_engine_classify(e, b, res->verdicts, h) != n)
        return bg_engine_end(res, BG_ENGINE_PASSED, 1, "out of memory loading the rules");
    res->nverdicts = n;
    bg_engine_mark(h, BG_ENGINE_STAGE_CLASSIFY);
    if (h && h->classified)
        h->classified(h->ctx, cfg, b, res->verdicts, n);
    if (rq->record_only)
        return bg_engine_end(res, BG_ENGINE_UNCHANGED, 0, "rewriting is off");

    /* the catalogues and the language */
    const char *why = "";
    bg_lang *langs = bg_engine_langs(e, &why);
    if (!langs)
        return bg_engine_end(res, BG_ENGINE_PASSED, 0, "%s", why);
    bg_engine_mark(h, BG_ENGINE_STAGE_LOADED);
    const char *sdom = rq->sender_domain ? rq->sender_domain : "";
    const char *sender = rq->sender ? rq->sender : b->orig.return_path;
    if (rq->lang)
        bg_lang_force(langs, rq->lang, sender, sdom, &res->lang);
    else
        bg_lang_choose(langs, sender, sdom, rq->msg, rq->len, b, &res->lang);

    /* what only the caller knows */
    if (h && h->diagnose)
        h->diagnose(h->ctx, cfg, &res->lang, b, res->verdicts, n, res->extra);
    if (h && h->facts)
        h->facts(h->ctx, cfg, &res->lang, b, res->verdicts, n, res->extra);

    /* render */
    bg_render_input in = {
        .msg = rq->msg,
        .len = rq->len,
        .bounce = b,
        .verdicts = res->verdicts,
        .extra = res->extra,
        .catalog = res->lang.catalog,
        .admin_catalog = res->lang.admin_catalog,
        .config = cfg,
        .sender_domain = sdom,
    };
    char err[300] = "";
    bg_render_status rst = bg_render(&in, &res->render, err, sizeof err);
    if (rst == BG_RENDER_NOT_APPLICABLE)
        return bg_engine_end(res, BG_ENGINE_UNCHANGED, 0, "%s", err[0] ? err : "not rewritten");
    if (rst != BG_RENDER_OK || bg_buf_failed(&res->render.body) || res->render.body.len == 0)
        return bg_engine_end(res, BG_ENGINE_PASSED, 1, "cannot render (%s)",
                             err[0] ? err : "no output");
    if (bg_engine_fold(res, b->crlf ? "\r\n" : "\n") < 0 || bg_buf_failed(&res->lines))
        return bg_engine_end(res, BG_ENGINE_PASSED, 1,
                             "renderer gave a bad header name or memory ran out");
    res->outcome = BG_ENGINE_REWRITTEN;
    return BG_ENGINE_REWRITTEN;
}

void bg_engine_result_free(bg_engine_result *res)
{
    if (!res)
        return;
    bg_render_output_free(&res->render);
    bg_buf_free(&res->lines);
    free(res->headers);
    free(res->extra);
    free(res->verdicts);
    bg_bounce_free(res->bounce);
    res->headers = NULL;
    res->extra = NULL;
    res->verdicts = NULL;
    res->bounce = NULL;
    res->nheaders = res->nverdicts = 0;
}

int bg_engine_apply(const char *msg, size_t len, const bg_engine_result *res, bg_buf *dst)
{
    if (!res || res->outcome != BG_ENGINE_REWRITTEN || !res->bounce)
        return -1;
    return bg_render_apply_folded(msg, len, res->bounce, &res->render, res->lines.p,
                                  res->lines.len, dst);
}
