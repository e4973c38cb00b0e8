/* bg_exim: the local_scan() side of the Exim adapter.
 *
 * Exim calls local_scan() for every message it receives. This file decides
 * from the headers alone whether the message may be a delivery report (a
 * non-report costs a header walk and nothing else), and for a report reads
 * it (header_list + the -D spool file) and hands it to the process's
 * engine (bg_engine, through bg_exim_conf), which classifies every
 * recipient, calls back here for what only Exim knows (the suppression
 * store, the cause of a give-up, the auth diagnosis), and renders. This
 * file puts the result in place: the body in the spool file, the engine's
 * header lines, as they are, through header_remove/header_add. It never
 * rejects: every problem leaves the message exactly as Exim made it and
 * writes one line to Exim's main log.
 *
 * The plugin's config file is $BOUNCEGUIDE_CONFIG when set (Exim's main
 * option add_environment = BOUNCEGUIDE_CONFIG=/path), else BG_CONFIG_PATH
 * (compiled in, /etc/exim4/bounceguide.conf by default). Debian's dlopen
 * patch does not support local_scan_options, hence the environment.
 */
#define LOCAL_SCAN
#include <exim4/local_scan.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bg_bounce.h"
#include "bg_bounce_read.h"
#include "bg_buf.h"
#include "bg_classify.h"
#include "bg_config.h"
#include "bg_engine.h"
#include "bg_exim_conf.h"
#include "bg_exim_hooks.h"
#include "bg_exim_spool.h"
#include "bg_lang.h"
#include "bg_log.h"
#include "bg_policy.h"
#include "bg_render.h"
#include "bg_store.h"

#define BG_EXIM_MAX_SIZE_DEFAULT (4LL * 1024 * 1024)

#define BG_EXPORT __attribute__((visibility("default")))

BG_EXPORT int local_scan_version_major(void);
BG_EXPORT int local_scan_version_minor(void);

/* The ABI this object was built for; Debian's loader refuses a mismatch. */
int local_scan_version_major(void)
{
    return LOCAL_SCAN_ABI_VERSION_MAJOR;
}

int local_scan_version_minor(void)
{
    return LOCAL_SCAN_ABI_VERSION_MINOR;
}

/* ---- logging ------------------------------------------------------------ */

/* The core's messages go to Exim's main log (never the panic log: a plugin
 * problem is not an Exim problem); debug lines only with -d+local_scan. */
static void bg_exim_log_sink(bg_log_level level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level == BG_LOG_DEBUG) {
        if (debug_selector & D_local_scan)
            debug_printf("bounceguide: %s\n", msg);
        return;
    }
    log_write(0, LOG_MAIN, "bounceguide: %s", msg);
}

/* ---- the header look ---------------------------------------------------- */

/* ASCII lower case. The header look calls no library function, so that a
 * non-report costs no symbol binding in a fresh Exim process either. */
static inline unsigned char bg_exim_lc(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* 1 when the n bytes at s equal lower-case word w, ignoring case. */
static inline int bg_exim_ieq(const char *s, const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (bg_exim_lc((unsigned char)s[i]) != (unsigned char)w[i])
            return 0;
    return 1;
}

/* Value of a header line "Name: value\n" when its name is the lower-case
 * name (length nlen), else NULL. Deleted headers (type '*') never match. */
static const char *bg_exim_hdr_value(const header_line *h, const char *name, size_t nlen)
{
    if (h->type == '*' || h->slen <= (int)nlen)
        return NULL;
    const char *t = (const char *)h->text;
    if (!bg_exim_ieq(t, name, nlen))
        return NULL;
    t += nlen;
    while (*t == ' ' || *t == '\t')
        t++;
    if (*t != ':')
        return NULL;
    t++;
    while (*t == ' ' || *t == '\t')
        t++;
    return t;
}

/* 1 when s (up to the end of the header, folded lines included) contains
 * the lower-case needle, ignoring case. */
static int bg_exim_contains(const char *s, const char *needle, size_t n)
{
    for (; *s; s++) {
        if (*s == '\n' && s[1] != ' ' && s[1] != '\t')
            return 0;
        if (bg_exim_ieq(s, needle, n))
            return 1;
    }
    return 0;
}

/* May this message be a delivery report? Headers and envelope only:
 * a null sender, a multipart/report, X-Failed-Recipients, or a From of
 * MAILER-DAEMON/postmaster. Everything else is left alone at this cost. */
static int bg_exim_is_candidate(void)
{
    if (sender_address == NULL || sender_address[0] == '\0')
        return 1;
    for (const header_line *h = header_list; h != NULL; h = h->next) {
        const char *v;
        switch (h->text[0] | 0x20) {
        case 'c':
            if ((v = bg_exim_hdr_value(h, "content-type", 12)) != NULL &&
                bg_exim_contains(v, "multipart/report", 16))
                return 1;
            break;
        case 'x':
            if (bg_exim_hdr_value(h, "x-failed-recipients", 19) != NULL)
                return 1;
            break;
        case 'f':
            if ((v = bg_exim_hdr_value(h, "from", 4)) != NULL &&
                (bg_exim_contains(v, "mailer-daemon", 13) || bg_exim_contains(v, "postmaster@", 11)))
                return 1;
            break;
        default:
            break;
        }
    }
    return 0;
}

/* ---- timing --------------------------------------------------------------- */

/* Benchmark support: when Exim's environment has BOUNCEGUIDE_TIMING (set
 * with add_environment), every call logs its own cost. -1 = not looked yet. */
static int bg_exim_timing = -1;
static long long bg_exim_load_ns; /* time spent loading config/rules/catalogue in this call */
enum { BG_T_READ, BG_T_CLASSIFY, BG_T_STORE, BG_T_RENDER, BG_T_WRITE, BG_T_N };
static long long bg_exim_stage_ns[BG_T_N]; /* per-stage CPU time of this call (timing only) */
static long long bg_exim_stage_t0;
static unsigned long bg_exim_calls; /* local_scan calls in this process (timing only) */

/* Nanoseconds on a clock (CLOCK_MONOTONIC: wall; CLOCK_THREAD_CPUTIME_ID:
 * CPU time of this process, unaffected by other load on the machine). */
static long long bg_exim_clock_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CPU nanoseconds used by this thread (the timing figures). */
static long long bg_exim_now_ns(void)
{
    return bg_exim_clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* Close a timing stage: the time since the last mark goes to stage. */
static void bg_exim_stage(int stage)
{
    if (bg_exim_timing <= 0)
        return;
    long long t = bg_exim_now_ns();
    if (stage >= 0)
        bg_exim_stage_ns[stage] += t - bg_exim_stage_t0;
    bg_exim_stage_t0 = t;
}

/* ---- reading the message ------------------------------------------------ */

/* Domain part of an address ("" when none). */
static const char *bg_exim_domain_of(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    return at ? at + 1 : "";
}

/* Size of the header block as Exim holds it (live headers only). */
static size_t bg_exim_headers_size(void)
{
    size_t n = 0;
    for (const header_line *h = header_list; h != NULL; h = h->next)
        if (h->type != '*' && h->slen > 0)
            n += (size_t)h->slen;
    return n;
}

/* Read exactly len bytes at off. 0 or -1. */
static int bg_exim_pread_all(int fd, char *buf, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pread(fd, buf, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/* Where the body starts in the -D file: after its first line "<id>-D\n".
 * Taken from the running Exim's message id, not from the header this
 * object was built with: Exim 4.97 made ids longer (16 to 23 characters,
 * SPOOL_DATA_START_OFFSET 19 to 26) under the same local_scan ABI, and
 * 4.98 still reads old-layout files queued before an upgrade, so one
 * build serves both. 0 when there is no usable id. */
static size_t bg_exim_data_offset(void)
{
    size_t idlen = message_id ? strlen((const char *)message_id) : 0;
    return idlen >= 8 && idlen <= 64 ? idlen + 3 : 0;
}

/* The whole message (headers, blank line, body) into msg; the body starts
 * at *body_off. Returns NULL on success, else why not. */
static const char *bg_exim_read_message(int fd, size_t body_size, bg_buf *msg, size_t *body_off)
{
    static char why[160];
    char first[72];
    size_t off = bg_exim_data_offset();

    /* The -D file starts with "<id>-D\n": check it, so that a different
     * spool layout is never overwritten blindly. */
    if (off == 0 || off > sizeof first || bg_exim_pread_all(fd, first, off, 0) != 0 ||
        memcmp(first, message_id, off - 3) != 0 || memcmp(first + off - 3, "-D\n", 3) != 0)
        return "spool data file layout not recognised";

    for (const header_line *h = header_list; h != NULL; h = h->next)
        if (h->type != '*' && h->slen > 0)
            bg_buf_add(msg, h->text, (size_t)h->slen);
    bg_buf_addc(msg, '\n');
    *body_off = msg->len;
    if (bg_buf_failed(msg))
        return "out of memory";
    if (body_size > 0) {
        char *tmp = malloc(body_size);
        if (tmp == NULL)
            return "out of memory";
        if (bg_exim_pread_all(fd, tmp, body_size, (off_t)off) != 0) {
            snprintf(why, sizeof why, "cannot read the spool data file: %s",
                     errno ? strerror(errno) : "short read");
            free(tmp);
            return why;
        }
        bg_buf_add(msg, tmp, body_size);
        free(tmp);
        if (bg_buf_failed(msg))
            return "out of memory";
    }
    return NULL;
}

/* Was this report made by Exim itself (a bounce or delay warning of this
 * server)? Those arrive on the command line (protocol "local", no host)
 * from a process of the Exim user, or of root when root started the queue
 * run. Any local user may also submit a null-sender message on the command
 * line (exim -f '<>'): that one is a report like any from another server
 * and needs the same proof before it changes the suppression store. Fixed
 * expansions only. */
static int bg_exim_own_report(void)
{
    if (sender_host_address != NULL || received_protocol == NULL ||
        strcmp((const char *)received_protocol, "local") != 0)
        return 0;
    const uschar *o = expand_string(US "$originator_uid");
    const uschar *e = expand_string(US "$exim_uid");
    if (o == NULL || e == NULL)
        return 0;
    return strcmp((const char *)o, "0") == 0 || strcmp((const char *)o, (const char *)e) == 0;
}

/* ---- the work for one report -------------------------------------------- */

/* What the engine's hooks need from Exim for one report, and what they
 * leave behind for after the rendering. */
typedef struct bg_exim_job {
    bg_buf msg;
    size_t body_off;
    int inbound; /* the report came from another server */
    void *auth;  /* the auth diagnosis's texts (bg_exim_auth_extra) */
    void *sup;   /* the suppressed-here facts (bg_exim_store_extra) */
} bg_exim_job;

/* Release everything a job holds. */
static void bg_exim_job_free(bg_exim_job *j)
{
    bg_exim_auth_free(j->auth);
    bg_exim_store_extra_free(j->sup);
    bg_buf_free(&j->msg);
}

/* One line naming what was done, for the administrator. */
static void bg_exim_log_done(const bg_bounce *b, const bg_verdict *v, size_t n, size_t oldlen,
                             size_t newlen)
{
    bg_buf l;
    bg_buf_init(&l);
    bg_buf_printf(&l, "%s report rewritten (%zu -> %zu bytes):",
                  bg_msg_kind_name(b->kind), oldlen, newlen);
    for (size_t i = 0; i < n && i < 5; i++)
        bg_buf_printf(&l, " %s=%s%s%s", b->rcpts[i].recipient[0] ? b->rcpts[i].recipient : "?",
                      v[i].category ? v[i].category->id : "unknown", v[i].status[0] ? "/" : "",
                      v[i].status);
    if (n > 5)
        bg_buf_printf(&l, " (+%zu more)", n - 5);
    bg_logf(BG_LOG_INFO, "%s", bg_buf_str(&l));
    bg_buf_free(&l);
}

/* Engine hook: a give-up whose report names no cause ("retry timeout
 * exceeded" alone): the cause of the deferrals the transport's event hook
 * recorded for the same message and recipient (bg_store_last_deferral,
 * read-only). Issue 16: cause and timing are two facts. Any problem
 * leaves the verdicts. */
static void bg_exim_hook_cause(void *ctx, const bg_config *cfg, const char *message_id,
                               const char *const *rcpts, size_t n,
                               char (*cats)[BG_ENGINE_CAUSE_MAX])
{
    (void)ctx;
    bg_policy *pol = bg_policy_new(cfg);
    bg_store_status st = BG_STORE_OK;
    char err[200] = "";
    bg_store *s = pol ? bg_policy_store_open(pol, BG_STORE_RDONLY, &st, err, sizeof err)
                      : NULL;
    bg_policy_free(pol);
    if (!s)
        return;
    for (size_t i = 0; i < n; i++) {
        long long at = 0;
        char cat[BG_CATEGORY_ID_MAX] = "";
        if (bg_store_last_deferral(s, message_id, rcpts[i], cat, &at) == BG_STORE_OK)
            snprintf(cats[i], BG_ENGINE_CAUSE_MAX, "%s", cat);
    }
    bg_store_close(s);
}

/* Engine hook: after classification, our own refusal in a report from
 * elsewhere, and the suppression store (whether or not we rewrite). */
static void bg_exim_hook_classified(void *ctx, const bg_config *cfg, const bg_bounce *b,
                                    bg_verdict *v, size_t n)
{
    bg_exim_job *j = ctx;
    /* our own refusal (suppressed-here) can only be in our own report */
    bg_exim_store_own_refusals(v, n, j->inbound);
    bg_exim_stage(BG_T_CLASSIFY);
    bg_exim_store_bounce(cfg, b, v, n, j->inbound, message_id ? (const char *)message_id : "");
}

/* Engine hook: the authentication diagnosis (the store's sending IP, the
 * topology, Exim's HELO name: bg_exim_auth.c). */
static void bg_exim_hook_diagnose(void *ctx, const bg_config *cfg, const bg_lang_pick *lang,
                                  const bg_bounce *b, const bg_verdict *v, size_t n,
                                  bg_render_extra *extra)
{
    bg_exim_job *j = ctx;
    j->auth = bg_exim_auth_extra(cfg, lang->admin_catalog, lang->catalog, b, v, n, j->inbound,
                                 extra);
}

/* Engine hook: a feedback (ARF) report, a complaint for the store
 * (bg_exim_store_complaint: the proof rules); the report stays as it came. */
static void bg_exim_hook_feedback(void *ctx, const bg_config *cfg, const bg_bounce *b,
                                  const char *msg, size_t len)
{
    (void)ctx;
    bg_exim_store_complaint(cfg, b, msg, len, message_id ? (const char *)message_id : "");
}

/* Engine hook: the store's row behind our own refusals. */
static void bg_exim_hook_facts(void *ctx, const bg_config *cfg, const bg_lang_pick *lang,
                               const bg_bounce *b, const bg_verdict *v, size_t n,
                               bg_render_extra *extra)
{
    (void)lang;
    bg_exim_job *j = ctx;
    j->sup = bg_exim_store_extra(cfg, b, v, n, j->inbound, extra);
}

/* Engine hook: the timing stages. */
static void bg_exim_hook_stage(void *ctx, int stage)
{
    (void)ctx;
    if (stage == BG_ENGINE_STAGE_READ)
        bg_exim_stage(BG_T_READ);
    else if (stage == BG_ENGINE_STAGE_LOADED)
        bg_exim_stage(BG_T_STORE);
}

/* Put the engine's result in place: the body first (if the spool cannot
 * take it, nothing has changed), then the engine's header lines exactly
 * as it wrote them. */
static void bg_exim_write(int fd, const bg_exim_job *j, size_t body_size,
                          const bg_engine_result *res, const bg_config *cfg)
{
    char err[300] = "";
    for (size_t i = 0; i < res->nheaders; i++) {
        /* Exim's header lines end in LF; ours must too */
        if (res->headers[i].line && memchr(res->headers[i].line, '\r', res->headers[i].len)) {
            bg_logf(BG_LOG_WARN, "CR in a header line; message passed unchanged");
            return;
        }
    }
    const char *oldbody = j->msg.p + j->body_off;
    const bg_buf *body = &res->render.body;
    int rc = bg_exim_spool_replace(fd, (off_t)bg_exim_data_offset(), oldbody, body_size, body->p,
                                   body->len, err, sizeof err);
    if (rc != 0) {
        bg_logf(BG_LOG_ERROR, "%s; message passed unchanged%s", err,
                rc == -2 ? " (SPOOL FILE MAY BE DAMAGED)" : "");
        return;
    }
    body_linecount = bg_exim_spool_linecount(body->p, body->len);
    bg_exim_stage(BG_T_WRITE);
    for (size_t i = 0; i < res->nheaders; i++) {
        const bg_engine_header *h = &res->headers[i];
        if (h->remove)
            header_remove(0, (const uschar *)h->name);
        if (h->line)
            header_add(' ', "%s", h->line);
    }
    if (bg_config_get_bool(cfg, NULL, "log_rewrites", 1))
        bg_exim_log_done(res->bounce, res->verdicts, res->nverdicts, body_size, body->len);
}

/* Read, classify, store, render and rewrite one candidate message through
 * the process's engine. Every exit leaves the message either fully
 * rewritten or untouched. */
static void bg_exim_process(int fd)
{
    bg_exim_job j;
    struct stat st;
    const char *why;

    /* the process's engine, its config re-read when the file changed */
    long long l0 = bg_engine_load_ns(bg_exim_conf_current());
    bg_engine *e = bg_exim_engine();
    const bg_config *cfg = bg_engine_config(e);
    if (bg_exim_timing > 0)
        bg_exim_load_ns += bg_engine_load_ns(e) - l0;
    if (!cfg) {
        bg_logf(BG_LOG_WARN, "%s; message passed unchanged",
                e ? bg_engine_why(e) : "out of memory loading the config");
        return;
    }
    bg_engine_warn(e);
    /* the report's recipient is the bounced message's sender: its domain
     * picks the per-domain sections (branding, switches) */
    const char *rcpt = recipients_count > 0 && recipients_list != NULL &&
                               recipients_list[0].address != NULL
                           ? (const char *)recipients_list[0].address
                           : "";
    char rcpt_dom[256] = "";
    {
        const char *d = bg_exim_domain_of(rcpt);
        size_t k = 0;
        for (; d[k] && k + 1 < sizeof rcpt_dom; k++)
            rcpt_dom[k] = (char)bg_exim_lc((unsigned char)d[k]);
        rcpt_dom[k] = '\0';
    }
    /* enabled = no: the bounce stays as Exim made it, the store still
     * records it (conf/bounceguide.conf) */
    int rewrite = bg_config_get_bool(cfg, rcpt_dom, "enabled", 1);

    off_t data_off = (off_t)bg_exim_data_offset();
    if (fstat(fd, &st) != 0 || data_off == 0 || st.st_size < data_off) {
        bg_logf(BG_LOG_WARN, "cannot stat the spool data file; message passed unchanged");
        return;
    }
    size_t body_size = (size_t)(st.st_size - data_off);
    size_t total = bg_exim_headers_size() + 1 + body_size;
    long long max = bg_config_get_num(cfg, NULL, "max_size", BG_EXIM_MAX_SIZE_DEFAULT);
    if (max > 0 && (long long)total > max) {
        bg_logf(BG_LOG_WARN, "message of %zu bytes is over max_size (%lld); passed unchanged",
                total, max);
        return;
    }
    if (body_linecount <= 0) {
        /* spool_wireformat keeps the body as it came off the wire and
         * body_linecount at 0: leave such a message alone */
        bg_logf(BG_LOG_WARN, "empty body or wire-format spool; message passed unchanged");
        return;
    }

    memset(&j, 0, sizeof j);
    bg_buf_init(&j.msg);
    bg_exim_stage(-1);
    if ((why = bg_exim_read_message(fd, body_size, &j.msg, &j.body_off)) != NULL) {
        bg_logf(BG_LOG_WARN, "%s; message passed unchanged", why);
        goto done;
    }
    {
        /* a CRLF body is a wire-format spool file whatever body_linecount
         * says: our LF rendering would not match it */
        const char *body = j.msg.p + j.body_off;
        const char *nl = memchr(body, '\n', body_size);
        if (nl != NULL && nl > body && nl[-1] == '\r') {
            bg_logf(BG_LOG_WARN, "CRLF (wire-format) spool body; message passed unchanged");
            goto done;
        }
    }

    j.inbound = !bg_exim_own_report();
    if (!bg_config_get_bool(cfg, rcpt_dom, "rewrite", 1) ||
        (j.inbound && !bg_config_get_bool(cfg, rcpt_dom, "rewrite_inbound", 1)))
        rewrite = 0;
    bg_limits lim = {.max_size = (size_t)total + 1};
    bg_engine_hooks hooks = {
        .ctx = &j,
        .last_cause = bg_exim_hook_cause,
        .cause_origin = "store:last-deferral",
        .classified = bg_exim_hook_classified,
        .diagnose = bg_exim_hook_diagnose,
        .facts = bg_exim_hook_facts,
        .stage = bg_exim_timing > 0 ? bg_exim_hook_stage : NULL,
        .feedback = bg_exim_hook_feedback,
    };
    bg_engine_request rq = {
        .msg = j.msg.p,
        .len = j.msg.len,
        .limits = &lim,
        .sender = rcpt,
        .sender_domain = rcpt_dom,
        .record_only = !rewrite,
        .hooks = &hooks,
    };
    bg_engine_result res;
    l0 = bg_engine_load_ns(e);
    bg_engine_outcome o = bg_engine_run(e, &rq, &res);
    if (bg_exim_timing > 0)
        bg_exim_load_ns += bg_engine_load_ns(e) - l0;
    bg_exim_stage(BG_T_RENDER);
    if (o == BG_ENGINE_PASSED)
        bg_logf(BG_LOG_WARN, "%s; message passed unchanged", res.why);
    else if (o == BG_ENGINE_REWRITTEN)
        bg_exim_write(fd, &j, body_size, &res, cfg);
    bg_engine_result_free(&res);
done:
    bg_exim_job_free(&j);
}

/* ---- the entry point ---------------------------------------------------- */

/* local_scan with its own cost logged (benchmarks only). The header look
 * is timed on the vDSO wall clock (a few microseconds: preemption is rare
 * and the median ignores it); the work for a report on the thread CPU
 * clock (milliseconds on a shared machine: wall time would measure the
 * other processes). */
static int bg_exim_timed(int fd)
{
    bg_exim_calls++;
    long long w0 = bg_exim_clock_ns(CLOCK_MONOTONIC);
    int cand = bg_exim_is_candidate();
    long long w1 = bg_exim_clock_ns(CLOCK_MONOTONIC);
    if (!cand) {
        log_write(0, LOG_MAIN, "bounceguide: timing: non-bounce %.2f us call %lu",
                  (double)(w1 - w0) / 1000.0, bg_exim_calls);
        return LOCAL_SCAN_ACCEPT;
    }
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    long long t0 = bg_exim_now_ns();
    bg_exim_load_ns = 0;
    memset(bg_exim_stage_ns, 0, sizeof bg_exim_stage_ns);
    bg_log_set(bg_exim_log_sink, NULL);
    bg_exim_process(fd);
    bg_log_set(NULL, NULL);
    long long t1 = bg_exim_now_ns();
    long long w2 = bg_exim_clock_ns(CLOCK_MONOTONIC);
    getrusage(RUSAGE_SELF, &ru1);
    log_write(0, LOG_MAIN,
              "bounceguide: timing: candidate %.2f us (load %.2f us) wall %.2f us"
              " [read %.1f classify %.1f store+auth %.1f render %.1f write %.1f] faults %ld call %lu",
              (double)(t1 - t0 + (w1 - w0)) / 1000.0, (double)bg_exim_load_ns / 1000.0,
              (double)(w2 - w0) / 1000.0, (double)bg_exim_stage_ns[BG_T_READ] / 1000.0,
              (double)bg_exim_stage_ns[BG_T_CLASSIFY] / 1000.0,
              (double)bg_exim_stage_ns[BG_T_STORE] / 1000.0,
              (double)bg_exim_stage_ns[BG_T_RENDER] / 1000.0,
              (double)bg_exim_stage_ns[BG_T_WRITE] / 1000.0,
              (ru1.ru_minflt - ru0.ru_minflt) + (ru1.ru_majflt - ru0.ru_majflt), bg_exim_calls);
    return LOCAL_SCAN_ACCEPT;
}

/* Exim's hook. Always accepts: a bounce must never be rejected. */
int local_scan(int fd, uschar **return_text)
{
    (void)return_text;
    if (bg_exim_timing != 0) {
        if (bg_exim_timing < 0) {
            bg_exim_timing = getenv("BOUNCEGUIDE_TIMING") != NULL;
            bg_exim_conf_timing(bg_exim_timing);
        }
        if (bg_exim_timing > 0)
            return bg_exim_timed(fd);
    }
    if (!bg_exim_is_candidate())
        return LOCAL_SCAN_ACCEPT;
    bg_log_set(bg_exim_log_sink, NULL);
    bg_exim_process(fd);
    bg_log_set(NULL, NULL);
    return LOCAL_SCAN_ACCEPT;
}
