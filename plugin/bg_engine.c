/* bg_engine: what one process loads -- config, rules, catalogues -- and the
 * one classify loop (see bg_engine.h; one message: bg_engine_run.c).
 *
 * The config is held against its file (path, device, inode, size, mtime):
 * bg_engine_refresh reads it again when any of them changed, or when a
 * missing file appeared. Rules and catalogues belong to one load and are
 * made on first use after it, so a process that only checks recipients
 * never parses a catalogue.
 */
#include "bg_engine.h"
#include "bg_engine_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bg_log.h"

/* CPU time of this thread, for the loading figures. */
static long long bg_engine_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A copy of s (NULL stays NULL); *failed set when memory runs out. */
static char *bg_engine_dup(const char *s, int *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = 1;
    return d;
}

/* Collect the key check's findings: the first error becomes why; the
 * first warnings are kept for bg_engine_warn. */
static void bg_engine_issue(bg_config_severity sev, unsigned line, const char *msg, void *ctx)
{
    bg_engine *e = ctx;
    const char *path = e->config_path ? e->config_path : "";
    if (sev == BG_CFG_ERROR) {
        if (!e->why[0])
            snprintf(e->why, sizeof e->why, "config broken: %.200s:%u: %s", path, line, msg);
        return;
    }
    if (e->nwarn < BG_ENGINE_WARN_KEEP)
        snprintf(e->warn[e->nwarn], sizeof e->warn[0], "%.80s:%u: %s", path, line, msg);
    if (e->nwarn < 1000)
        e->nwarn++;
}

/* Drop what belongs to the last load. */
static void bg_engine_unload(bg_engine *e)
{
    bg_lang_free(e->langs);
    bg_rules_free(e->rules);
    bg_config_free(e->cfg);
    e->langs = NULL;
    e->rules = NULL;
    e->cfg = NULL;
    e->langs_tried = 0;
    e->langs_why[0] = '\0';
    e->why[0] = '\0';
    e->nwarn = 0;
    e->warned = 0;
}

/* (Re)load: st is the file's stat, NULL when stat failed with stat_errno
 * (or when no file is named). */
static void bg_engine_load(bg_engine *e, const struct stat *st, int stat_errno)
{
    long long t0 = e->timing ? bg_engine_cpu_ns() : 0;
    bg_engine_unload(e);
    e->generation++;
    e->loaded = 1;
    e->stat_errno = stat_errno;
    e->ino = st ? st->st_ino : 0;
    e->dev = st ? st->st_dev : 0;
    e->size = st ? st->st_size : 0;
    if (st)
        e->mtime = st->st_mtim;
    const char *path = e->config_path;
    char err[300] = "";
    if (!path) {
        e->cfg = bg_config_new();
    } else if (!st && e->missing_ok && stat_errno == ENOENT) {
        e->cfg = bg_config_new();
    } else if (!st) {
        snprintf(e->why, sizeof e->why, "config %s: %s", path, strerror(stat_errno));
    } else if ((e->cfg = bg_config_load(path, err, sizeof err)) == NULL) {
        snprintf(e->why, sizeof e->why, "config broken: %s", err);
    } else if (bg_config_keys_check(e->cfg, bg_engine_issue, e) > 0) {
        bg_config_free(e->cfg); /* a wrong value: broken, why says which */
        e->cfg = NULL;
    }
    if (!e->cfg && !e->why[0])
        snprintf(e->why, sizeof e->why, "config %s: out of memory", path ? path : "(defaults)");
    if (e->timing)
        e->load_ns += bg_engine_cpu_ns() - t0;
}

bg_engine *bg_engine_new(const bg_engine_opts *o)
{
    bg_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    int failed = 0;
    if (o) {
        e->config_path = o->config_path && *o->config_path ? bg_engine_dup(o->config_path, &failed)
                                                           : NULL;
        e->missing_ok = o->missing_ok;
        e->rules_path = bg_engine_dup(o->rules_path, &failed);
        e->catalog_path = bg_engine_dup(o->catalog_path, &failed);
        e->timing = o->timing;
    }
    if (failed) {
        bg_engine_free(e);
        return NULL;
    }
    bg_engine_refresh(e, NULL);
    return e;
}

void bg_engine_free(bg_engine *e)
{
    if (!e)
        return;
    bg_engine_unload(e);
    free(e->config_path);
    free(e->rules_path);
    free(e->catalog_path);
    free(e);
}

const bg_config *bg_engine_refresh(bg_engine *e, int *reloaded)
{
    if (reloaded)
        *reloaded = 0;
    if (!e)
        return NULL;
    if (!e->config_path) {
        if (!e->loaded) {
            bg_engine_load(e, NULL, 0);
            if (reloaded)
                *reloaded = 1;
        }
        return e->cfg;
    }
    struct stat st;
    int exists = stat(e->config_path, &st) == 0;
    int stat_errno = exists ? 0 : errno;
    int same = e->loaded &&
               ((!exists && e->ino == 0 && e->stat_errno == stat_errno) ||
                (exists && st.st_ino == e->ino && st.st_dev == e->dev && st.st_size == e->size &&
                 st.st_mtim.tv_sec == e->mtime.tv_sec && st.st_mtim.tv_nsec == e->mtime.tv_nsec));
    if (!same) {
        bg_engine_load(e, exists ? &st : NULL, stat_errno);
        if (reloaded)
            *reloaded = 1;
    }
    return e->cfg;
}

const bg_config *bg_engine_config(const bg_engine *e)
{
    return e ? e->cfg : NULL;
}

const char *bg_engine_why(const bg_engine *e)
{
    return e ? e->why : "out of memory";
}

unsigned bg_engine_generation(const bg_engine *e)
{
    return e ? e->generation : 0;
}

void bg_engine_warn(bg_engine *e)
{
    if (!e || !e->cfg || e->warned || e->nwarn == 0)
        return;
    e->warned = 1;
    for (int i = 0; i < e->nwarn && i < BG_ENGINE_WARN_KEEP; i++)
        bg_logf(BG_LOG_WARN, "config warning: %s", e->warn[i]);
    if (e->nwarn > BG_ENGINE_WARN_KEEP)
        bg_logf(BG_LOG_WARN, "config warning: %d more; run 'bounceguide config check %s'",
                e->nwarn - BG_ENGINE_WARN_KEEP, e->config_path ? e->config_path : "");
}

const bg_rules *bg_engine_rules(bg_engine *e)
{
    if (!e || !e->cfg)
        return NULL;
    if (!e->rules) {
        long long t0 = e->timing ? bg_engine_cpu_ns() : 0;
        e->rules = bg_rules_load(e->rules_path ? e->rules_path
                                               : bg_config_get(e->cfg, NULL, "rules_file", ""));
        if (e->timing)
            e->load_ns += bg_engine_cpu_ns() - t0;
    }
    return e->rules;
}

bg_lang *bg_engine_langs(bg_engine *e, const char **why)
{
    if (why)
        *why = "";
    if (!e || !e->cfg) {
        if (why)
            *why = e ? e->why : "out of memory";
        return NULL;
    }
    if (!e->langs_tried) {
        long long t0 = e->timing ? bg_engine_cpu_ns() : 0;
        e->langs_tried = 1;
        char err[256] = "";
        e->langs = bg_lang_new(e->cfg, e->catalog_path, err, sizeof err);
        if (!e->langs)
            snprintf(e->langs_why, sizeof e->langs_why, "%s",
                     err[0] ? err : "out of memory loading the catalogue");
        if (e->timing)
            e->load_ns += bg_engine_cpu_ns() - t0;
    }
    if (!e->langs && why)
        *why = e->langs_why;
    return e->langs;
}

long long bg_engine_load_ns(const bg_engine *e)
{
    return e ? e->load_ns : 0;
}

/* ---- the one classify loop ------------------------------------------------ */

/* Give-ups without a cause: ask the caller once for all of them. */
static void bg_engine_causes(const bg_engine *e, const bg_bounce *b, bg_verdict *v, size_t n,
                             const bg_engine_hooks *h)
{
    if (!h || !h->last_cause || !b->orig.message_id[0])
        return;
    size_t need = 0;
    for (size_t i = 0; i < n; i++)
        need += v[i].gave_up && v[i].category && strcmp(v[i].category->id, "expired") == 0;
    if (!need)
        return;
    const char **rcpts = calloc(need, sizeof *rcpts);
    size_t *idx = calloc(need, sizeof *idx);
    char(*cats)[BG_ENGINE_CAUSE_MAX] = calloc(need, sizeof *cats);
    if (rcpts && idx && cats) {
        size_t k = 0;
        for (size_t i = 0; i < n && k < need; i++)
            if (v[i].gave_up && v[i].category && strcmp(v[i].category->id, "expired") == 0) {
                idx[k] = i;
                rcpts[k++] = b->rcpts[i].recipient;
            }
        h->last_cause(h->ctx, e->cfg, b->orig.message_id, rcpts, need, cats);
        const char *origin = h->cause_origin ? h->cause_origin : "caller";
        for (size_t k2 = 0; k2 < need; k2++) {
            cats[k2][BG_ENGINE_CAUSE_MAX - 1] = '\0';
            if (cats[k2][0] && bg_classify_take_cause(&v[idx[k2]], cats[k2], origin))
                bg_logf(BG_LOG_DEBUG, "cause of %.200s from %s: %s", rcpts[k2], origin, cats[k2]);
        }
    }
    free(rcpts);
    free(idx);
    free(cats);
}

size_t bg_engine_classify(bg_engine *e, const bg_bounce *b, bg_verdict *v,
                          const bg_engine_hooks *hooks)
{
    const bg_rules *r = bg_engine_rules(e);
    if (!r || !b || !v)
        return 0;
    if (b->nrcpt == 0) {
        bg_classify_rcpt(r, b, NULL, &v[0]);
        return 1;
    }
    for (size_t i = 0; i < b->nrcpt; i++)
        bg_classify_rcpt(r, b, &b->rcpts[i], &v[i]);
    bg_engine_causes(e, b, v, b->nrcpt, hooks);
    return b->nrcpt;
}

int bg_engine_classify_text(bg_engine *e, const char *text, int deferred, const char *remote_mta,
                            bg_verdict *v)
{
    const bg_rules *r = bg_engine_rules(e);
    if (!r || !v)
        return -1;
    bg_classify_reply(r, text, deferred, remote_mta, v);
    return 0;
}
