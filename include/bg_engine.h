/* bg_engine: the one pipeline every client runs (issue 14, "One engine").
 *
 * An engine holds what one process needs to handle bounces -- the config,
 * the classification rules and the catalogues -- loaded once and loaded
 * again when the config file changes (one stat per bg_engine_refresh). For
 * one message it reads the report, classifies every recipient (the one
 * classify loop), asks the caller's hooks for what only the caller knows
 * (the cause of a give-up from the suppression store, the store itself,
 * the authentication diagnosis, the store's facts behind our own
 * refusals), chooses the language, renders, and returns the new body and
 * the header fields exactly as they are to be written (folded by
 * bg_render_fold_header, the one folding function).
 *
 * Clients: local_scan (plugin/bg_exim.c) writes the body to the spool and
 * hands the lines to header_add; the transport event and the RCPT check
 * (plugin/bg_exim_event.c) take the config and the rules from it; the
 * command (render, classify, diagnose) prints what it returns. Pure C: no
 * Exim here.
 *
 * The config, as the Exim adapter has always read it:
 *   - no file named (config_path NULL or ""): the built-in defaults;
 *   - the file does not exist and missing_ok: the built-in defaults (the
 *     adapter's default path);
 *   - the file cannot be read, does not parse, has a value of the wrong
 *     type (bg_config_keys_check), or does not exist without missing_ok:
 *     broken -- bg_engine_config gives NULL and bg_engine_why one line;
 *     the Exim entry points are then inert.
 * No catalogue: a message is passed unchanged (bg_engine_run says why).
 */
#ifndef BG_ENGINE_H
#define BG_ENGINE_H

#include <stddef.h>
#include "bg_bounce.h"
#include "bg_bounce_read.h"
#include "bg_buf.h"
#include "bg_classify.h"
#include "bg_config.h"
#include "bg_lang.h"
#include "bg_render.h"

typedef struct bg_engine bg_engine;

#define BG_ENGINE_CAUSE_MAX 32 /* a category id and its NUL */

typedef struct bg_engine_opts {
    const char *config_path;  /* NULL or "": no file, the built-in defaults */
    int missing_ok;           /* a config_path that does not exist: the defaults */
    const char *rules_path;   /* NULL: the config's rules_file; "" the built-in rules only */
    const char *catalog_path; /* NULL: the config's guidance_file (the default language's
                               * override); else this file instead (the CLI's --catalog) */
    int timing;               /* 1: count the CPU time spent loading (bg_engine_load_ns) */
} bg_engine_opts;

/* A new engine; the config is read now. NULL only when memory runs out.
 * The strings of opts are copied. */
bg_engine *bg_engine_new(const bg_engine_opts *opts);
void bg_engine_free(bg_engine *e);

/* Read the config again when its file changed (path, inode, size or
 * mtime; one stat). *reloaded (may be NULL) is 1 when it was read. Returns
 * the config, NULL when broken. */
const bg_config *bg_engine_refresh(bg_engine *e, int *reloaded);

/* The config of the last load, NULL when broken; why it is broken (one
 * line, "" when it is not). */
const bg_config *bg_engine_config(const bg_engine *e);
const char *bg_engine_why(const bg_engine *e);

/* Number of loads so far (it changes when the file was read again). */
unsigned bg_engine_generation(const bg_engine *e);

/* Log the config's warnings (unknown keys, global keys in a [domain]
 * section) through bg_log, once per load: the first three and a count. */
void bg_engine_warn(bg_engine *e);

/* The rules for the current config (loaded on first use after each
 * load). NULL when the config is broken or memory runs out. */
const bg_rules *bg_engine_rules(bg_engine *e);

/* The catalogues for the current config (loaded on first use after each
 * load: the default language now, others when a bounce asks). NULL when
 * none can be loaded or the config is broken; *why (may be NULL) then
 * says why. */
bg_lang *bg_engine_langs(bg_engine *e, const char **why);

/* CPU nanoseconds spent loading (config, rules, catalogues) since the
 * engine was made, when opts.timing was set; else 0. */
long long bg_engine_load_ns(const bg_engine *e);

/* ---- classification ---------------------------------------------------- */

/* Hooks: what only the caller knows. Any may be NULL. */
typedef struct bg_engine_hooks {
    void *ctx;
    /* The cause of give-ups that name none ("retry timeout exceeded"
     * alone, verdict "expired"): for each of the n recipients of the
     * returned message message_id, write the category id of the last
     * deferral recorded for it into cats[i] ("" = none). The engine then
     * takes it with bg_classify_take_cause(..., cause_origin). */
    void (*last_cause)(void *ctx, const bg_config *cfg, const char *message_id,
                       const char *const *recipients, size_t n,
                       char (*cats)[BG_ENGINE_CAUSE_MAX]);
    const char *cause_origin; /* e.g. "store:last-deferral" */
    /* After classification, before any rendering: the verdicts may be
     * changed (our own refusal in a report from elsewhere) and recorded
     * (the suppression store). Called whether or not the message is then
     * rewritten. */
    void (*classified)(void *ctx, const bg_config *cfg, const bg_bounce *b, bg_verdict *v,
                       size_t n);
    /* The authentication diagnosis: fill extra[i].admin_text and
     * extra[i].sender_text (n entries, zeroed) in the chosen languages. The
     * texts must live until bg_engine_run returns. */
    void (*diagnose)(void *ctx, const bg_config *cfg, const bg_lang_pick *lang,
                     const bg_bounce *b, const bg_verdict *v, size_t n,
                     bg_render_extra *extra);
    /* More facts for the texts: extra[i].vars (the store's row behind our
     * own refusal). Same lifetime. */
    void (*facts)(void *ctx, const bg_config *cfg, const bg_lang_pick *lang,
                  const bg_bounce *b, const bg_verdict *v, size_t n, bg_render_extra *extra);
    /* Timing marks (benchmarks): called when a stage ends. */
    void (*stage)(void *ctx, int stage);
    /* A feedback (ARF) report: given the whole message (msg, len) and
     * what the reader found; the engine then leaves the message as it
     * came (a complaint is recorded, never rewritten). */
    void (*feedback)(void *ctx, const bg_config *cfg, const bg_bounce *b, const char *msg,
                     size_t len);
} bg_engine_hooks;

enum {
    BG_ENGINE_STAGE_READ = 0,   /* the report is read */
    BG_ENGINE_STAGE_CLASSIFY,   /* classified, causes taken (before the classified hook) */
    BG_ENGINE_STAGE_LOADED      /* the catalogues are loaded (before the language choice) */
};

/* Classify every recipient of b with the engine's rules (the one classify
 * loop), then take the causes hooks->last_cause finds (hooks may be
 * NULL). v has room for nrcpt entries, at least one: a report without
 * recipients is classified as a whole into v[0]. Returns the number of
 * verdicts written (0 when the config is broken). */
size_t bg_engine_classify(bg_engine *e, const bg_bounce *b, bg_verdict *v,
                          const bg_engine_hooks *hooks);

/* Classify a bare reply as Exim's transport event gives it
 * (bg_classify_reply with the engine's rules; remote_mta is the host that
 * answered, "" when unknown). 0, or -1 when the config is broken (v
 * untouched). */
int bg_engine_classify_text(bg_engine *e, const char *text, int deferred, const char *remote_mta,
                            bg_verdict *v);

/* ---- one message --------------------------------------------------------- */

typedef struct bg_engine_request {
    const char *msg;            /* the whole message: header block, blank line, body */
    size_t len;
    const bg_limits *limits;    /* for the reader; NULL = its defaults */
    const char *sender;         /* the bounced message's sender (the report's recipient):
                                   its language; NULL = the returned message's Return-Path */
    const char *sender_domain;  /* its domain, for branding and [domain] keys; NULL = "" */
    const char *lang;           /* the sender's language, forced (the CLI's --lang); NULL =
                                   chosen (bg_lang_choose) */
    int record_only;            /* 1: read, classify, call hooks->classified, then stop
                                   (enabled/rewrite switched off) */
    const bg_engine_hooks *hooks;
} bg_engine_request;

typedef enum {
    BG_ENGINE_REWRITTEN = 0, /* body and headers replace the message's */
    BG_ENGINE_UNCHANGED,     /* not ours to rewrite (not a failure or delay report,
                                nothing to explain, record_only): leave it, why says why */
    BG_ENGINE_PASSED         /* a problem: leave the message as it is and log why */
} bg_engine_outcome;

/* One header change, in order: remove every field called name (remove),
 * then add line (when not NULL). */
typedef struct bg_engine_header {
    const char *name;
    int remove;
    const char *line; /* the whole field as written: "Name: value", folded lines
                         (line end + blank), the message's line end at the end */
    size_t len;
} bg_engine_header;

typedef struct bg_engine_result {
    bg_engine_outcome outcome;
    int error;                  /* PASSED for an internal error (render, memory), not
                                   for input it declines */
    char why[400];              /* one line when not REWRITTEN */
    bg_read_status read_status;
    bg_bounce *bounce;          /* the report as read; NULL when unreadable */
    bg_verdict *verdicts;       /* one per recipient of bounce (nverdicts) */
    size_t nverdicts;
    bg_lang_pick lang;          /* what was chosen (REWRITTEN) */
    bg_render_output render;    /* the new body (render.body) and the edits */
    bg_engine_header *headers;  /* the header changes, lines folded (REWRITTEN) */
    size_t nheaders;
    bg_buf lines;               /* every added line, in order (headers[i].line points here) */
    bg_render_extra *extra;     /* internal */
} bg_engine_result;

/* Read, classify, diagnose, choose the language and render one message.
 * Never changes the input. res is always filled and must be freed with
 * bg_engine_result_free. */
bg_engine_outcome bg_engine_run(bg_engine *e, const bg_engine_request *rq,
                                bg_engine_result *res);
void bg_engine_result_free(bg_engine_result *res);

/* The whole new message of a REWRITTEN result into dst: the input's fields
 * minus the removed ones, the engine's lines as they are, a blank line,
 * the new body. 0, or -1 (not REWRITTEN, memory). */
int bg_engine_apply(const char *msg, size_t len, const bg_engine_result *res, bg_buf *dst);

#endif
