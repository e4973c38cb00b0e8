/* bg_spf: what SPF says about one domain and one sending IP (libspf2).
 *
 * libspf2 does the evaluation (RFC 7208 semantics, includes, macros, the
 * lookup limits); this file adds what an administrator needs: the record
 * text and the term that decided. It does not print and never lets
 * libspf2 print: its warning/info/debug output goes to bg_log.
 */
#include "bg_spf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>

#include "bg_log.h"

static const char *const bg_spf_names[] = {
    "none", "pass", "fail", "softfail", "neutral", "permerror", "temperror",
};

static const char *const bg_spf_why_ids[] = {
    "none", "dns", "nxdomain", "no-txt", "no-spf", "multiple", "input", "nomem",
};

const char *bg_spf_why_id(bg_spf_why w)
{
    if ((unsigned)w >= sizeof bg_spf_why_ids / sizeof bg_spf_why_ids[0])
        return "none";
    return bg_spf_why_ids[w];
}

const char *bg_spf_code_name(bg_spf_code c)
{
    if ((unsigned)c >= sizeof bg_spf_names / sizeof bg_spf_names[0])
        return "none";
    return bg_spf_names[c];
}

/* libspf2's messages go to our log sink, never to stdout/stderr. */
static void bg_spf_log_debug(const char *file, int line, const char *msg)
{
    (void)file;
    (void)line;
    bg_logf(BG_LOG_DEBUG, "libspf2: %s", msg);
}

/* libspf2's handlers are process globals, and inside Exim the process's
 * own SPF checks (the ACL's spf condition) use the same library: ours are
 * set only around our own calls and Exim's are put back after. */
typedef struct bg_spf_saved {
    void (*warning)(const char *, int, const char *);
    void (*info)(const char *, int, const char *);
    void (*debug)(const char *, int, const char *);
} bg_spf_saved;

static bg_spf_saved bg_spf_quiet(void)
{
    bg_spf_saved was = {SPF_warning_handler, SPF_info_handler, SPF_debug_handler};
    SPF_warning_handler = bg_spf_log_debug;
    SPF_info_handler = bg_spf_log_debug;
    SPF_debug_handler = bg_spf_log_debug;
    return was;
}

static void bg_spf_restore(bg_spf_saved was)
{
    SPF_warning_handler = was.warning;
    SPF_info_handler = was.info;
    SPF_debug_handler = was.debug;
}

static bg_spf_code bg_spf_map(SPF_result_t r)
{
    switch (r) {
    case SPF_RESULT_PASS: return BG_SPF_PASS;
    case SPF_RESULT_FAIL: return BG_SPF_FAIL;
    case SPF_RESULT_SOFTFAIL: return BG_SPF_SOFTFAIL;
    case SPF_RESULT_NEUTRAL: return BG_SPF_NEUTRAL;
    case SPF_RESULT_TEMPERROR: return BG_SPF_TEMPERROR;
    case SPF_RESULT_PERMERROR: return BG_SPF_PERMERROR;
    case SPF_RESULT_NONE: return BG_SPF_NONE;
    default: return BG_SPF_PERMERROR;
    }
}

/* Copy s into dst as one line of printable text. */
static void bg_spf_copy_line(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    for (; s && *s && o + 1 < cap; s++)
        dst[o++] = (*s == '\r' || *s == '\n' || *s == '\t') ? ' '
                   : ((unsigned char)*s < 0x20 ? '?' : *s);
    dst[o] = '\0';
}

/* Is txt an SPF version 1 record ("v=spf1" alone or followed by a blank)? */
static int bg_spf_is_record(const char *txt)
{
    return strncasecmp(txt, "v=spf1", 6) == 0 && (txt[6] == '\0' || txt[6] == ' ');
}

/* A modifier is name=value with a name of letters, digits, '-', '_', '.'. */
static int bg_spf_is_modifier(const char *term)
{
    if (!isalpha((unsigned char)term[0]))
        return 0;
    for (const char *p = term; *p; p++) {
        if (*p == '=')
            return 1;
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return 0;
    }
    return 0;
}

/* Evaluate the single mechanism term (qualifier removed, as "+term") for
 * the request; returns libspf2's result (PASS = it matches). */
static SPF_result_t bg_spf_term_matches(SPF_server_t *srv, SPF_request_t *req, const char *term)
{
    char text[BG_SPF_RECORD_MAX + 16];
    snprintf(text, sizeof text, "v=spf1 +%s", term);
    SPF_response_t *resp = SPF_response_new(req);
    if (!resp)
        return SPF_RESULT_TEMPERROR;
    SPF_record_t *rec = NULL;
    SPF_result_t res = SPF_RESULT_PERMERROR;
    if (SPF_record_compile(srv, resp, &rec, text) == SPF_E_SUCCESS && rec) {
        resp->spf_record_exp = rec; /* libspf2 asserts it is set, as its own caller does */
        SPF_record_interpret(rec, req, resp, 0);
        resp->spf_record_exp = NULL;
        res = SPF_response_result(resp);
        if (res == SPF_RESULT_NEUTRAL && SPF_response_reason(resp) == SPF_REASON_DEFAULT)
            res = SPF_RESULT_NONE; /* did not match */
    }
    SPF_record_free(rec);
    SPF_response_free(resp);
    return res;
}

/* Find the term of record that decided: the first mechanism that matches
 * (or errs), else redirect=, else "" (the default result). */
static void bg_spf_find_decider(SPF_server_t *srv, SPF_request_t *req, const char *record,
                                char *out, size_t cap)
{
    char copy[BG_SPF_RECORD_MAX];
    char redirect[256] = "";
    snprintf(copy, sizeof copy, "%s", record);
    char *save = NULL;
    int first = 1;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (first) { /* v=spf1 */
            first = 0;
            continue;
        }
        if (bg_spf_is_modifier(t)) {
            if (strncasecmp(t, "redirect=", 9) == 0)
                snprintf(redirect, sizeof redirect, "%s", t);
            continue;
        }
        const char *m = (*t == '+' || *t == '-' || *t == '~' || *t == '?') ? t + 1 : t;
        SPF_result_t r = bg_spf_term_matches(srv, req, m);
        if (r != SPF_RESULT_NONE) {
            bg_spf_copy_line(out, cap, t);
            return;
        }
    }
    bg_spf_copy_line(out, cap, redirect); /* "" = nothing matched: the default */
}

/* The domain's one v=spf1 record into out->record: 1 when there is
 * exactly one (evaluate it), 0 when out already says why not. */
static int bg_spf_fetch_record(bg_dns *d, bg_spf_result *out)
{
    char txt[16][512];
    int herr = 0;
    int n = bg_dns_txt(d, out->domain, txt, 16, &herr);
    if (n < 0) {
        if (herr == TRY_AGAIN)
            out->result = BG_SPF_TEMPERROR;
        out->why = herr == TRY_AGAIN         ? BG_SPF_WHY_DNS
                   : herr == HOST_NOT_FOUND ? BG_SPF_WHY_NXDOMAIN
                                            : BG_SPF_WHY_NO_TXT;
        return 0;
    }
    int nspf = 0;
    for (int i = 0; i < n; i++)
        if (bg_spf_is_record(txt[i])) {
            if (nspf++ == 0)
                bg_spf_copy_line(out->record, sizeof out->record, txt[i]);
        }
    out->nrecords = nspf;
    if (nspf == 0) {
        out->why = BG_SPF_WHY_NO_SPF;
        return 0;
    }
    if (nspf > 1) {
        out->result = BG_SPF_PERMERROR;
        out->why = BG_SPF_WHY_MULTIPLE;
        return 0;
    }
    return 1;
}

/* Clear out and copy the domain and ip in; 0 when there is nothing to do. */
static int bg_spf_begin(bg_dns *d, const char *ip, const char *domain, bg_spf_result *out)
{
    memset(out, 0, sizeof *out);
    bg_spf_copy_line(out->domain, sizeof out->domain, domain ? domain : "");
    bg_spf_copy_line(out->ip, sizeof out->ip, ip ? ip : "");
    out->result = BG_SPF_NONE;
    if (!d || !out->domain[0]) {
        out->why = BG_SPF_WHY_INPUT;
        return 0;
    }
    return 1;
}

bg_spf_code bg_spf_record(bg_dns *d, const char *domain, bg_spf_result *out)
{
    if (bg_spf_begin(d, "", domain, out))
        bg_spf_fetch_record(d, out);
    return out->result;
}

static bg_spf_code bg_spf_check_quiet(bg_dns *d, bg_spf_result *out);

bg_spf_code bg_spf_check(bg_dns *d, const char *ip, const char *domain, bg_spf_result *out)
{
    if (!bg_spf_begin(d, ip, domain, out))
        return out->result;
    if (!out->ip[0]) {
        out->why = BG_SPF_WHY_INPUT;
        return out->result;
    }
    bg_spf_saved was = bg_spf_quiet();
    bg_spf_code r = bg_spf_check_quiet(d, out);
    bg_spf_restore(was);
    return r;
}

/* The check proper, with libspf2's messages going to our log. */
static bg_spf_code bg_spf_check_quiet(bg_dns *d, bg_spf_result *out)
{
    /* the record itself, for the report (and the cache for libspf2) */
    if (!bg_spf_fetch_record(d, out))
        return out->result;

    SPF_server_t *srv = SPF_server_new_dns(bg_dns_spf_layer(d), 0);
    if (srv)
        SPF_server_set_rec_dom(srv, "bounceguide");
    SPF_request_t *req = srv ? SPF_request_new(srv) : NULL;
    if (!req) {
        SPF_server_free(srv);
        out->result = BG_SPF_TEMPERROR;
        out->why = BG_SPF_WHY_NOMEM;
        return out->result;
    }
    struct in6_addr a6;
    struct in_addr a4;
    int iperr;
    if (inet_pton(AF_INET, out->ip, &a4) == 1)
        iperr = SPF_request_set_ipv4(req, a4);
    else if (inet_pton(AF_INET6, out->ip, &a6) == 1)
        iperr = SPF_request_set_ipv6(req, a6);
    else
        iperr = -1;
    char from[300];
    snprintf(from, sizeof from, "postmaster@%s", out->domain);
    if (iperr != SPF_E_SUCCESS || SPF_request_set_env_from(req, from) != 0) {
        SPF_request_free(req);
        SPF_server_free(srv);
        out->why = BG_SPF_WHY_INPUT;
        return out->result;
    }
    SPF_request_set_helo_dom(req, out->domain);
    SPF_response_t *resp = NULL;
    SPF_request_query_mailfrom(req, &resp);
    if (resp) {
        out->evaluated = 1;
        out->result = bg_spf_map(SPF_response_result(resp));
        const char *why = NULL;
        for (int i = 0; i < SPF_response_messages(resp); i++) {
            SPF_error_t *e = SPF_response_message(resp, i);
            if (e && SPF_error_errorp(e)) {
                why = SPF_error_message(e);
                break;
            }
        }
        if (!why) {
            why = SPF_response_get_header_comment(resp);
            if (why && strncmp(why, "bounceguide: ", 13) == 0)
                why += 13;
        }
        bg_spf_copy_line(out->detail, sizeof out->detail, why ? why : "");
        if (SPF_response_reason(resp) == SPF_REASON_LOCALHOST)
            out->mechanism[0] = '\0'; /* libspf2 passes loopback by itself; no term decided */
        else if (out->result != BG_SPF_TEMPERROR)
            bg_spf_find_decider(srv, req, out->record, out->mechanism, sizeof out->mechanism);
        SPF_response_free(resp);
    } else {
        out->result = BG_SPF_TEMPERROR;
    }
    SPF_request_free(req);
    SPF_server_free(srv);
    return out->result;
}
