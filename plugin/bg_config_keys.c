/* bg_config_keys: every key of bounceguide.conf in one table (name, type,
 * built-in default, scope), and the check that holds a file against it.
 *
 * The modules read their keys with bg_config_get*; this table is what the
 * check, `bounceguide config check|keys`, conf/bounceguide.conf,
 * docs/suppression.md and bounceguide.conf(5) follow, and the unit tests
 * hold the modules' compiled-in defaults to it. A key a module reads and
 * this table lacks is a bug (tests/unit/test_config.c greps the sources).
 */
#include "bg_config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_category.h"

static const bg_config_key bg_config_keys[] = {
    /* bounce rewriting (local_scan) */
    {"enabled", BG_CFG_BOOL, "yes", BG_CFG_DOMAIN, "rewrite", "rewrite bounces at all"},
    {"rewrite", BG_CFG_BOOL, "yes", BG_CFG_DOMAIN, "rewrite",
     "rewrite (yes) or only classify and record (no)"},
    {"rewrite_inbound", BG_CFG_BOOL, "yes", BG_CFG_DOMAIN, "rewrite",
     "also rewrite reports that other servers send"},
    {"max_size", BG_CFG_SIZE, "4M", BG_CFG_GLOBAL, "rewrite", "larger bounces pass unchanged"},
    {"log_rewrites", BG_CFG_BOOL, "yes", BG_CFG_GLOBAL, "rewrite", "one log line per rewritten bounce"},
    /* guidance texts */
    {"data_dir", BG_CFG_PATH, "", BG_CFG_GLOBAL, "guidance",
     "installed catalogues (DATA_DIR/guidance/LANG.conf); unset: the compiled-in ones"},
    {"language", BG_CFG_STRING, "en", BG_CFG_DOMAIN, "guidance",
     "language of the guidance (a [domain] section: for that sending domain)"},
    {"sender_languages", BG_CFG_LIST, "", BG_CFG_DOMAIN, "guidance",
     "address patterns and their language (*@example.de de, ...), tried first"},
    {"language_from_message", BG_CFG_BOOL, "yes", BG_CFG_DOMAIN, "guidance",
     "take the language from the bounced message's Content-Language/Accept-Language"},
    {"admin_language", BG_CFG_STRING, "", BG_CFG_DOMAIN, "guidance",
     "language of the administrator's section; unset: the sender's"},
    {"guidance_file", BG_CFG_PATH, "", BG_CFG_GLOBAL, "guidance", "your own texts (catalogue syntax)"},
    {"guidance_file_*", BG_CFG_PATH, "", BG_CFG_GLOBAL, "guidance",
     "guidance_file_<LANG>: your own texts for one language"},
    {"organisation", BG_CFG_STRING, "", BG_CFG_DOMAIN, "guidance", "branding: {organisation}"},
    {"helpdesk", BG_CFG_STRING, "", BG_CFG_DOMAIN, "guidance", "branding: {helpdesk}"},
    /* classification */
    {"rules_file", BG_CFG_PATH, "", BG_CFG_GLOBAL, "rules", "your own classification rules"},
    {"retry_give_up", BG_CFG_DURATION, "4d", BG_CFG_DOMAIN, "rules",
     "how long Exim retries (its retry rules; Debian's default gives up after 4 days): "
     "a delay warning without Will-Retry-Until says until when"},
    /* suppression store */
    {"suppress_db", BG_CFG_PATH, "/var/spool/exim4/bounceguide/suppression.db", BG_CFG_GLOBAL,
     "suppression", "the database: a file (SQLite), or postgresql://... for a fleet's central store"},
    {"suppress_replica", BG_CFG_PATH, "/var/spool/exim4/bounceguide/replica.db", BG_CFG_GLOBAL,
     "suppression", "a fleet host's local copy of the suppressions in force (what the RCPT check reads)"},
    {"suppress_journal", BG_CFG_PATH, "/var/spool/exim4/bounceguide/journal.db", BG_CFG_GLOBAL,
     "suppression", "a fleet host's journal: events waiting for the sync to ship them"},
    {"suppress_sync_interval", BG_CFG_MS, "1s", BG_CFG_GLOBAL, "suppression",
     "how often bounceguide suppress sync ships the journal and follows the change log"},
    {"suppress_timeout_ms", BG_CFG_COUNT, "250", BG_CFG_GLOBAL, "suppression",
     "longest wait for a locked database, per Exim process (10..10000)"},
    {"suppress_event_retention", BG_CFG_DURATION, "30d", BG_CFG_GLOBAL, "suppression",
     "events kept for dedupe, proof and sending IP"},
    {"suppress_change_retention", BG_CFG_DURATION, "365d", BG_CFG_GLOBAL, "suppression",
     "changes kept for suppress history and suppress changes (0 = forever)"},
    {"suppress", BG_CFG_BOOL, "yes", BG_CFG_DOMAIN, "suppression",
     "record and enforce for this sending domain"},
    {"suppress.*", BG_CFG_MODE, "", BG_CFG_DOMAIN, "suppression",
     "suppress.<category>: none, count, address or domain instead of the taxonomy's default"},
    {"suppress_soft_threshold", BG_CFG_COUNT, "3", BG_CFG_DOMAIN, "suppression",
     "soft events that suppress ..."},
    {"suppress_soft_window", BG_CFG_DURATION, "7d", BG_CFG_DOMAIN, "suppression",
     "... within any span of this length"},
    {"suppress_expire_address", BG_CFG_DURATION, "365d", BG_CFG_DOMAIN, "suppression",
     "lifetime of an address suppression (0 = until removed)"},
    {"suppress_expire_domain", BG_CFG_DURATION, "30d", BG_CFG_DOMAIN, "suppression",
     "lifetime of a domain suppression"},
    {"suppress_expire_soft", BG_CFG_DURATION, "30d", BG_CFG_DOMAIN, "suppression",
     "lifetime of a soft-threshold suppression"},
    {"suppress_expire_complaint", BG_CFG_DURATION, "0", BG_CFG_DOMAIN, "suppression",
     "lifetime of a complaint's suppression (0 = until removed, as ESPs keep them)"},
    {"suppress_expire_unsubscribed", BG_CFG_DURATION, "0", BG_CFG_DOMAIN, "suppression",
     "lifetime of an unsubscribe's suppression (0 = until removed)"},
    {"suppress_complaints", BG_CFG_BOOL, "yes", BG_CFG_DOMAIN, "suppression",
     "record complaints (ARF feedback reports about our mail, with proof: docs/security.md)"},
    {"suppress_exempt", BG_CFG_LIST, "", BG_CFG_DOMAIN, "suppression",
     "recipients never recorded nor refused (a@b, local@*, domain, .domain)"},
    {"suppress_inbound", BG_CFG_BOOL, "yes", BG_CFG_DOMAIN, "suppression",
     "record reports from other servers at all (only with proof, docs/security.md)"},
    {"suppress_inbound_max_rcpts", BG_CFG_COUNT, "10", BG_CFG_DOMAIN, "suppression",
     "a report from another server naming more failed recipients records none"},
    {"suppress_inbound_budget", BG_CFG_MS, "2s", BG_CFG_GLOBAL, "suppression",
     "DNS time per inbound report for the MX/SPF check of the reporting host (0 = no DNS)"},
    {"prvs_secret_file", BG_CFG_PATH, "", BG_CFG_DOMAIN, "suppression", "the BATV (prvs) key file"},
    {"prvs_secret", BG_CFG_STRING, "", BG_CFG_DOMAIN, "suppression", "the BATV key itself"},
    {"prvs_secret_*", BG_CFG_STRING, "", BG_CFG_DOMAIN, "suppression",
     "prvs_secret_<N>: the key for key number N"},
    /* reports and the bounce-rate guard (bg_store_count.c, bounceguide report) */
    {"report", BG_CFG_BOOL, "yes", BG_CFG_DOMAIN, "report",
     "count deliveries, bounces, deferrals and complaints of this sending domain for bounceguide report"},
    {"report_retention", BG_CFG_DURATION, "400d", BG_CFG_GLOBAL, "report",
     "counters kept (suppress expire prunes older hours; 0 = forever)"},
    {"guard_bounce_rate", BG_CFG_PERCENT, "0", BG_CFG_DOMAIN, "report",
     "defer (451) new mail of this sending domain while its bounces reach this share of "
     "deliveries + bounces within guard_window (5%); 0 = off"},
    {"guard_window", BG_CFG_DURATION, "24h", BG_CFG_DOMAIN, "report",
     "the span the guard looks back over (whole hours)"},
    {"guard_min_volume", BG_CFG_COUNT, "100", BG_CFG_DOMAIN, "report",
     "deliveries + bounces within guard_window before the guard may hold mail"},
    /* authentication diagnosis */
    {"diagnose_budget", BG_CFG_MS, "2s", BG_CFG_DOMAIN, "auth", "DNS time per bounce; 0 = off"},
    {"diagnose_domains", BG_CFG_LIST, "", BG_CFG_GLOBAL, "auth", "domains that may be looked up"},
    {"sending_ip", BG_CFG_STRING, "", BG_CFG_DOMAIN, "auth",
     "the address this server sends from, when the store does not know"},
    {"diagnose_ip_from_store", BG_CFG_BOOL, "yes", BG_CFG_GLOBAL, "auth",
     "look the sending IP up in the suppression store first"},
    {"diagnose_helo", BG_CFG_STRING, "", BG_CFG_DOMAIN, "auth", "our HELO name, whose SPF is checked too"},
    {"diagnose_dns_servers", BG_CFG_LIST, "", BG_CFG_GLOBAL, "auth",
     "DNS servers (IP or IP:PORT); default /etc/resolv.conf (also for the inbound check)"},
    {"diagnose_topology", BG_CFG_STRING, "auto", BG_CFG_DOMAIN, "auth",
     "how mail leaves: auto (from Debian's Exim config), direct or smarthost"},
    {"diagnose_smarthost", BG_CFG_STRING, "", BG_CFG_DOMAIN, "auth",
     "the smarthost mail leaves through (implies smarthost)"},
    {"diagnose_exim_dir", BG_CFG_PATH, "/etc/exim4", BG_CFG_DOMAIN, "auth",
     "where Debian's Exim config is read for the topology (\"\" = not read)"},
    {"diagnose_dkim_domain", BG_CFG_STRING, "", BG_CFG_DOMAIN, "auth",
     "the d= our transport signs with (unset with a selector: the From: domain)"},
    {"diagnose_dkim_selector", BG_CFG_STRING, "", BG_CFG_DOMAIN, "auth",
     "the s= our transport signs with"},
};

#define BG_NKEYS (sizeof bg_config_keys / sizeof bg_config_keys[0])

const bg_config_key *bg_config_keys_table(size_t *n)
{
    if (n)
        *n = BG_NKEYS;
    return bg_config_keys;
}

/* Does name belong to the family ("suppress.*") pat, with a valid member? */
static int bg_config_family(const char *pat, const char *name)
{
    size_t pl = strlen(pat) - 1;
    if (strncasecmp(pat, name, pl) != 0 || !name[pl])
        return 0;
    const char *member = name + pl;
    if (strcmp(pat, "suppress.*") == 0)
        return bg_category_find(member) != NULL;
    if (strcmp(pat, "guidance_file_*") == 0) { /* guidance_file_<LANG>: de, pt-BR */
        size_t n = strlen(member);
        if (n < 2 || n > 15)
            return 0;
        for (const char *p = member; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '-')
                return 0;
        return 1;
    }
    for (const char *p = member; *p; p++) /* prvs_secret_<N> */
        if (!isdigit((unsigned char)*p))
            return 0;
    return 1;
}

const bg_config_key *bg_config_keys_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < BG_NKEYS; i++) {
        const char *k = bg_config_keys[i].name;
        size_t kl = strlen(k);
        if (k[kl - 1] == '*' ? bg_config_family(k, name) : strcasecmp(k, name) == 0)
            return &bg_config_keys[i];
    }
    return NULL;
}

const char *bg_config_type_name(bg_config_type t)
{
    static const char *const names[] = {"bool", "count", "size", "duration", "milliseconds",
                                        "mode", "string", "path", "list", "percent"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* A duration for BG_CFG_MS: "500ms", or seconds with a suffix. */
static int bg_config_ms_ok(const char *v)
{
    size_t n = strlen(v);
    if (n > 2 && strcasecmp(v + n - 2, "ms") == 0) {
        for (size_t i = 0; i < n - 2; i++)
            if (!isdigit((unsigned char)v[i]))
                return 0;
        return 1;
    }
    long long s;
    return bg_config_parse_num(v, &s) == 0;
}

int bg_config_keys_value_ok(const bg_config_key *key, const char *value, const char **why)
{
    static const char *const bools[] = {"yes", "no", "true", "false", "on", "off", "1", "0", NULL};
    long long n;
    *why = "";
    if (!key)
        return 0;
    switch (key->type) {
    case BG_CFG_BOOL:
        for (int i = 0; bools[i]; i++)
            if (strcasecmp(value, bools[i]) == 0)
                return 0;
        *why = "is not yes/no";
        return -1;
    case BG_CFG_COUNT:
        for (const char *p = value; *p; p++)
            if (!isdigit((unsigned char)*p)) {
                *why = "is not a whole number";
                return -1;
            }
        if (!*value) {
            *why = "is not a whole number";
            return -1;
        }
        return 0;
    case BG_CFG_SIZE:
    case BG_CFG_DURATION:
        if (bg_config_parse_num(value, &n) < 0) {
            *why = key->type == BG_CFG_SIZE ? "is not a size (a number with K, M or G)"
                                            : "is not a duration (seconds, or with s, min, h, d, w)";
            return -1;
        }
        return 0;
    case BG_CFG_MS:
        if (!bg_config_ms_ok(value)) {
            *why = "is not a duration (\"500ms\", \"2s\")";
            return -1;
        }
        return 0;
    case BG_CFG_PERCENT:
        if (bg_config_parse_percent(value, NULL) < 0) {
            *why = "is not a share (\"5%\", \"0.5%\", 0)";
            return -1;
        }
        return 0;
    case BG_CFG_MODE:
        if (bg_suppress_parse(value) < 0) {
            *why = "is not none, count, address or domain";
            return -1;
        }
        return 0;
    default:
        return 0;
    }
}

int bg_config_parse_percent(const char *v, double *out)
{
    if (!v)
        return -1;
    while (isspace((unsigned char)*v))
        v++;
    char *e;
    double d = strtod(v, &e);
    if (e == v || d < 0 || d > 100 || d != d)
        return -1;
    while (isspace((unsigned char)*e))
        e++;
    if (*e == '%')
        e++;
    else if (d != 0)
        return -1; /* "5" could mean 5% or 500%: say it */
    while (isspace((unsigned char)*e))
        e++;
    if (*e)
        return -1;
    if (out)
        *out = d / 100.0;
    return 0;
}

/* Levenshtein distance of two short strings, capped (for "did you mean"). */
static int bg_config_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    int d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            int x = d[i - 1][j] + 1, y = d[i][j - 1] + 1;
            d[i][j] = c < x ? (c < y ? c : y) : (x < y ? x : y);
        }
    return d[la][lb];
}

/* The known key closest to name (at most 2 edits, or a family's prefix), or NULL. */
static const char *bg_config_suggest(const char *name, char *buf, size_t buflen)
{
    int best = 3;
    const char *hit = NULL;
    for (size_t i = 0; i < BG_NKEYS; i++) {
        const char *k = bg_config_keys[i].name;
        size_t kl = strlen(k);
        if (k[kl - 1] == '*') {
            if (strncasecmp(k, name, kl - 1) == 0) { /* a family with an unknown member */
                snprintf(buf, buflen, "%.*s<%s>", (int)(kl - 1), k,
                         strcmp(k, "suppress.*") == 0 ? "category id" : "key number");
                return buf;
            }
            continue;
        }
        int d = bg_config_distance(name, k);
        if (d < best) {
            best = d;
            hit = k;
        }
    }
    if (hit)
        snprintf(buf, buflen, "%s", hit);
    return hit ? buf : NULL;
}

typedef struct {
    bg_config_issue_fn fn;
    void *ctx;
    int errors;
} bg_config_check_ctx;

static void bg_config_check_one(const char *section, const char *key, const char *value,
                                unsigned line, void *ctx)
{
    bg_config_check_ctx *cc = ctx;
    char msg[400], sug[80];
    const bg_config_key *k = bg_config_keys_find(key);
    if (!k) {
        const char *s = bg_config_suggest(key, sug, sizeof sug);
        snprintf(msg, sizeof msg, "unknown key '%.80s'%s%s%s; ignored", key, s ? " (did you mean '" : "",
                 s ? s : "", s ? "'?)" : "");
        if (cc->fn)
            cc->fn(BG_CFG_WARNING, line, msg, cc->ctx);
        return;
    }
    const char *why;
    if (bg_config_keys_value_ok(k, value, &why) < 0) {
        snprintf(msg, sizeof msg, "%.80s = \"%.80s\" %s", key, value, why);
        cc->errors++;
        if (cc->fn)
            cc->fn(BG_CFG_ERROR, line, msg, cc->ctx);
        return;
    }
    if (k->scope == BG_CFG_GLOBAL && section[0]) {
        snprintf(msg, sizeof msg, "%.80s is read outside [domain] sections only; ignored in [domain %.100s]",
                 key, section);
        if (cc->fn)
            cc->fn(BG_CFG_WARNING, line, msg, cc->ctx);
    }
}

int bg_config_keys_check(const bg_config *c, bg_config_issue_fn fn, void *ctx)
{
    bg_config_check_ctx cc = {fn, ctx, 0};
    bg_config_entries(c, bg_config_check_one, &cc);
    return cc.errors;
}
