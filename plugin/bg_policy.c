/* bg_policy: the suppression policy per sending domain, read from the
 * plugin config (keys listed in bg_policy.h and docs/suppression.md).
 *
 * Pure lookups over bg_config: no state beyond the borrowed config, no
 * logging except bg_config's own warning on a bad number; the one
 * exception, bg_policy_store_open, opens the store the settings name.
 */
#include "bg_policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct bg_policy {
    const bg_config *cfg;
    bg_config *own; /* an empty config when none was given */
};

bg_policy *bg_policy_new(const bg_config *cfg)
{
    bg_policy *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (!cfg) {
        p->own = bg_config_new();
        if (!p->own) {
            free(p);
            return NULL;
        }
        cfg = p->own;
    }
    p->cfg = cfg;
    return p;
}

void bg_policy_free(bg_policy *p)
{
    if (!p)
        return;
    bg_config_free(p->own);
    free(p);
}

int bg_policy_enabled(const bg_policy *p, const char *sender_domain)
{
    return bg_config_get_bool(p->cfg, sender_domain, "suppress", 1);
}

bg_suppress bg_policy_mode(const bg_policy *p, const char *sender_domain, const char *category,
                           bg_suppress base, int temporary)
{
    if (!bg_policy_enabled(p, sender_domain))
        return BG_SUP_NONE;
    /* our own refusal is a consequence of a row, never a cause of one:
     * no setting makes it change the row (or count) */
    if (category && strcmp(category, "suppressed-here") == 0)
        return BG_SUP_NONE;
    bg_suppress mode = base;
    char key[64];
    snprintf(key, sizeof key, "suppress.%s", category ? category : "");
    const char *v = bg_config_get(p->cfg, sender_domain, key, NULL);
    if (v && *v) {
        int m = bg_suppress_parse(v);
        if (m >= 0)
            mode = (bg_suppress)m;
    }
    if (temporary && mode > BG_SUP_COUNT)
        mode = BG_SUP_COUNT; /* a 4xx or a delay never suppresses at once */
    return mode;
}

/* A duration from the config, clamped to >= 0 (0 = never). */
static long long bg_policy_secs(const bg_policy *p, const char *domain, const char *key,
                                long long dflt)
{
    long long v = bg_config_get_num(p->cfg, domain, key, dflt);
    return v < 0 ? dflt : v;
}

void bg_policy_rule(const bg_policy *p, const char *sender_domain, const char *category,
                    bg_suppress base, int temporary, bg_store_rule *out)
{
    memset(out, 0, sizeof *out);
    out->mode = bg_policy_mode(p, sender_domain, category, base, temporary);
    long long th = bg_config_get_num(p->cfg, sender_domain, "suppress_soft_threshold",
                                     BG_POLICY_SOFT_THRESHOLD);
    out->soft_threshold = th < 1 ? 1 : th > 100000 ? 100000 : (int)th;
    out->soft_window = bg_policy_secs(p, sender_domain, "suppress_soft_window", BG_POLICY_SOFT_WINDOW);
    if (out->soft_window <= 0)
        out->soft_window = BG_POLICY_SOFT_WINDOW;
    switch (out->mode) {
    case BG_SUP_ADDRESS:
        /* a person's own request (a complaint, an unsubscribe) does not
         * heal with time as a dead mailbox may: their own lifetimes */
        if (category && strcmp(category, "complaint") == 0)
            out->expires_after = bg_policy_secs(p, sender_domain, "suppress_expire_complaint",
                                                BG_POLICY_EXPIRE_COMPLAINT);
        else if (category && strcmp(category, "unsubscribed") == 0)
            out->expires_after = bg_policy_secs(p, sender_domain, "suppress_expire_unsubscribed",
                                                BG_POLICY_EXPIRE_UNSUBSCRIBED);
        else
            out->expires_after = bg_policy_secs(p, sender_domain, "suppress_expire_address",
                                                BG_POLICY_EXPIRE_ADDRESS);
        break;
    case BG_SUP_DOMAIN:
        out->expires_after = bg_policy_secs(p, sender_domain, "suppress_expire_domain",
                                            BG_POLICY_EXPIRE_DOMAIN);
        break;
    case BG_SUP_COUNT:
        out->expires_after = bg_policy_secs(p, sender_domain, "suppress_expire_soft",
                                            BG_POLICY_EXPIRE_SOFT);
        break;
    default:
        break;
    }
}

/* Does one exempt item match the (lower-case) address? Items: "a@b"
 * exact, "local@*" any domain, "b" the domain, ".b" the domain and its
 * subdomains. */
static int bg_exempt_item(const char *item, size_t n, const char *addr, const char *domain)
{
    if (n == 0)
        return 0;
    const char *at = memchr(item, '@', n);
    if (at) {
        size_t ll = (size_t)(at - item);
        if (n - ll == 2 && at[1] == '*')
            return strncasecmp(addr, item, ll) == 0 && addr[ll] == '@';
        return strlen(addr) == n && strncasecmp(addr, item, n) == 0;
    }
    size_t dl = strlen(domain);
    if (item[0] == '.') {
        if (dl == n - 1 && strncasecmp(domain, item + 1, n - 1) == 0)
            return 1;
        return dl > n && strncasecmp(domain + dl - n, item, n) == 0;
    }
    return dl == n && strncasecmp(domain, item, n) == 0;
}

int bg_policy_exempt(const bg_policy *p, const char *sender_domain, const char *recipient)
{
    const char *list = bg_config_get(p->cfg, sender_domain, "suppress_exempt", "");
    if (!list || !*list || !recipient)
        return 0;
    char addr[BG_ADDR_MAX];
    if (bg_store_norm_recipient(recipient, addr) < 0)
        return 0;
    const char *at = strrchr(addr, '@');
    const char *domain = at ? at + 1 : addr;
    const char *s = list;
    while (*s) {
        while (*s && (isspace((unsigned char)*s) || *s == ',' || *s == ':' || *s == ';'))
            s++;
        const char *e = s;
        while (*e && !isspace((unsigned char)*e) && *e != ',' && *e != ':' && *e != ';')
            e++;
        if (e > s && bg_exempt_item(s, (size_t)(e - s), addr, domain))
            return 1;
        s = e;
    }
    return 0;
}

const char *bg_policy_db_path(const bg_policy *p)
{
    const char *v = bg_config_get(p->cfg, NULL, "suppress_db", BG_STORE_DEFAULT_PATH);
    return v && *v ? v : BG_STORE_DEFAULT_PATH;
}

const char *bg_policy_replica_path(const bg_policy *p)
{
    const char *v = bg_config_get(p->cfg, NULL, "suppress_replica", BG_STORE_DEFAULT_REPLICA);
    return v && *v ? v : BG_STORE_DEFAULT_REPLICA;
}

const char *bg_policy_journal_path(const bg_policy *p)
{
    const char *v = bg_config_get(p->cfg, NULL, "suppress_journal", BG_STORE_DEFAULT_JOURNAL);
    return v && *v ? v : BG_STORE_DEFAULT_JOURNAL;
}

int bg_policy_sync_interval_ms(const bg_policy *p)
{
    const char *v = bg_config_get(p->cfg, NULL, "suppress_sync_interval", BG_POLICY_SYNC_INTERVAL);
    long long ms = 1000;
    size_t n = v ? strlen(v) : 0;
    if (n > 2 && strcasecmp(v + n - 2, "ms") == 0)
        ms = strtoll(v, NULL, 10);
    else if (v && bg_config_parse_num(v, &ms) == 0)
        ms *= 1000;
    return ms < 50 ? 50 : ms > 3600000 ? 3600000 : (int)ms;
}

void bg_policy_fleet_paths(const bg_policy *p, bg_store_fleet_paths *out)
{
    out->central = bg_policy_db_path(p);
    out->replica = bg_policy_replica_path(p);
    out->journal = bg_policy_journal_path(p);
}

bg_store *bg_policy_store_open(const bg_policy *p, int flags, bg_store_status *st, char *err, size_t errlen)
{
    bg_store_fleet_paths fp;
    bg_policy_fleet_paths(p, &fp);
    return bg_store_open_for(&fp, bg_policy_timeout_ms(p), flags, st, err, errlen);
}

int bg_policy_timeout_ms(const bg_policy *p)
{
    long long v = bg_config_get_num(p->cfg, NULL, "suppress_timeout_ms", BG_STORE_DEFAULT_TIMEOUT_MS);
    return v < 10 ? 10 : v > 10000 ? 10000 : (int)v;
}

long long bg_policy_event_retention(const bg_policy *p)
{
    return bg_policy_secs(p, NULL, "suppress_event_retention", BG_POLICY_EVENT_RETENTION);
}

long long bg_policy_change_retention(const bg_policy *p)
{
    return bg_policy_secs(p, NULL, "suppress_change_retention", BG_POLICY_CHANGE_RETENTION);
}

int bg_policy_guard_get(const bg_policy *p, const char *sender_domain, bg_policy_guard *out)
{
    double rate = 0;
    const char *v = bg_config_get(p->cfg, sender_domain, "guard_bounce_rate", NULL);
    if (!v || bg_config_parse_percent(v, &rate) < 0 || rate <= 0)
        return 0;
    if (out) {
        out->rate = rate > 1 ? 1 : rate;
        out->rate_ppm = (long long)(out->rate * 1e6 + 0.5);
        out->window = bg_policy_secs(p, sender_domain, "guard_window", BG_POLICY_GUARD_WINDOW);
        if (out->window <= 0)
            out->window = BG_POLICY_GUARD_WINDOW;
        out->min_volume = bg_config_get_num(p->cfg, sender_domain, "guard_min_volume",
                                            BG_POLICY_GUARD_MIN_VOLUME);
        if (out->min_volume < 1)
            out->min_volume = 1;
    }
    return 1;
}

int bg_policy_guard_holds(const bg_policy_guard *g, long long delivered, long long bounced)
{
    long long total = delivered + bounced;
    if (!g || g->rate_ppm <= 0 || total < g->min_volume || total <= 0)
        return 0;
    return bounced * 1000000LL >= g->rate_ppm * total; /* exact: 5 of 100 is 5% */
}

int bg_policy_report(const bg_policy *p, const char *sender_domain)
{
    return bg_config_get_bool(p->cfg, sender_domain, "report", 1);
}

long long bg_policy_report_retention(const bg_policy *p)
{
    return bg_policy_secs(p, NULL, "report_retention", BG_POLICY_REPORT_RETENTION);
}
