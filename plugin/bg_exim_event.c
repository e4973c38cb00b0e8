/* bg_exim_event: the suppression store's dlfunc entry points.
 *
 *   bg_dlfunc_event -- for the smtp transports' event_action: records
 *     failures and deferrals (classified from $event_data by the core) and
 *     deliveries (Message-ID proof for inbound bounces, soft count reset).
 *     It also counts them for `bounceguide report` (bg_store_count), in
 *     the same transaction, under the operator of the MX host.
 *     7 arguments at most: Exim 4.96 garbles argc at 8.
 *       {$event_name}{$sender_address}{$local_part@$domain}{$event_data}
 *       {$h_message-id:}{$sending_ip_address $host_address $host}{$message_exim_id}
 *     (the sixth: our IP, the remote host's IP and its name, one blank
 *     between them -- the host that accepted a delivery is what an inbound
 *     report is checked against, its name says which operator took it;
 *     a lone IP, as older macros pass it, is ours)
 *   bg_dlfunc_check -- for a RCPT ACL or a router:
 *       {$sender_address_domain}{$local_part@$domain}
 *     yields "" (not suppressed) or "CATEGORY since YYYY-MM-DD".
 *   bg_dlfunc_guard -- for a RCPT ACL or a router: {$sender_address_domain}
 *     yields "" or why new mail of that domain is held: its bounce rate
 *     over guard_window reached guard_bounce_rate (off unless set; then
 *     one key-range read of the counters).
 *
 * Both always return OK: a problem (database locked beyond the bound,
 * unwritable, corrupt) writes one line to the main log and lets the mail
 * through; after one timeout the rest of the process skips the store
 * (bg_exim_store.c). Arguments are remote-controlled text: they are bound
 * as SQL parameters and never expanded. The config and the rules are the
 * process's engine's (bg_exim_conf, bg_engine), as in local_scan: a broken
 * config makes both inert -- nothing recorded, nobody refused -- with one
 * log line per process.
 */
#define LOCAL_SCAN
#include <exim4/local_scan.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bg_classify.h"
#include "bg_config.h"
#include "bg_exim_conf.h"
#include "bg_exim_store.h"
#include "bg_log.h"
#include "bg_policy.h"
#include "bg_provider.h"
#include "bg_store.h"
#include "bg_store_count.h"

#define BG_EXPORT __attribute__((visibility("default")))

BG_EXPORT int bg_dlfunc_event(uschar **yield, int argc, uschar *argv[]);
BG_EXPORT int bg_dlfunc_check(uschar **yield, int argc, uschar *argv[]);
BG_EXPORT int bg_dlfunc_guard(uschar **yield, int argc, uschar *argv[]);

/* Core messages go to Exim's main log. */
static void bg_ev_log(bg_log_level level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level == BG_LOG_DEBUG) {
        if (debug_selector & D_local_scan)
            debug_printf("bounceguide: %s\n", msg);
        return;
    }
    log_write(0, LOG_MAIN, "bounceguide: %s", msg);
}

/* argv[i] or "" */
static const char *bg_arg(int argc, uschar *argv[], int i)
{
    return i < argc && argv[i] ? (const char *)argv[i] : "";
}

/* Domain part of an address ("" when none). */
static const char *bg_domain_of(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at ? at + 1 : "";
}

/* The MX host name of the sixth argument's third word ("OUR_IP
 * REMOTE_IP HOST"; older macros pass two words): only a host name's
 * characters, else "". */
static void bg_ev_host(const char *arg, char out[256])
{
    out[0] = '\0';
    for (int i = 0; i < 2 && arg; i++) {
        arg = strchr(arg, ' ');
        if (arg)
            arg++;
    }
    if (!arg)
        return;
    size_t n = 0;
    for (; arg[n] && arg[n] != ' ' && n < 255; n++) {
        char c = arg[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-' || c == '_' || c == ':' || c == '[' || c == ']'))
            return;
    }
    if (arg[n] && arg[n] != ' ')
        return;
    memcpy(out, arg, n);
    out[n] = '\0';
}

int bg_dlfunc_event(uschar **yield, int argc, uschar *argv[])
{
    *yield = US "";
    bg_log_set(bg_ev_log, NULL);
    const char *name = bg_arg(argc, argv, 0);
    const char *sender = bg_arg(argc, argv, 1);
    const char *rcpt = bg_arg(argc, argv, 2);
    const char *data = bg_arg(argc, argv, 3);
    const char *msgid = bg_arg(argc, argv, 4);
    /* "OUR_IP REMOTE_IP HOST" (any may be empty) */
    char ip[BG_IP_MAX], remote[BG_IP_MAX], host[256];
    bg_exim_split_ips(bg_arg(argc, argv, 5), ip, remote);
    bg_ev_host(bg_arg(argc, argv, 5), host);
    const char *exim_id = bg_arg(argc, argv, 6);

    if (strcmp(name, "smtp:ehlo") == 0) {
        /* the transport process knows the local address; msg:delivery and
         * msg:fail:delivery (raised later by the main delivery process) do
         * not: note it per message */
        const char *sd = bg_domain_of(sender);
        if (!*ip || !*sd)
            return OK;
        if (!*msgid)
            msgid = exim_id;
        const bg_config *c = bg_exim_conf_for_store();
        if (!c || !bg_config_get_bool(c, sd, "suppress", 1))
            return OK;
        bg_store *s = bg_exim_store_handle(c, "sending IP not recorded");
        if (!s)
            return OK;
        long long t0 = bg_exim_store_ms();
        bg_store_status st = bg_store_note_ip(s, msgid, sd, ip, 0);
        if (st != BG_STORE_OK && st != BG_STORE_INVALID)
            bg_exim_store_report(st, bg_exim_store_ms() - t0, "sending IP not recorded");
        return OK;
    }
    int delivered = strcmp(name, "msg:delivery") == 0;
    int failed = strcmp(name, "msg:fail:delivery") == 0;
    int deferred = strcmp(name, "msg:rcpt:defer") == 0 || strcmp(name, "msg:rcpt:host:defer") == 0 ||
                   strcmp(name, "msg:host:defer") == 0;
    if (!delivered && !failed && !deferred)
        return OK;
    const char *sdom = bg_domain_of(sender);
    if (!*sdom || !strchr(rcpt, '@') || rcpt[0] == '@')
        return OK; /* a bounce (null sender) or an event without a recipient */
    if (!*msgid)
        msgid = exim_id;

    const bg_config *cfg = bg_exim_conf_for_store();
    if (!cfg)
        return OK;
    bg_policy *p = bg_policy_new(cfg);
    if (!p)
        return OK;
    /* counters for `bounceguide report`: a 4xx at RCPT raises
     * msg:rcpt:host:defer and then msg:rcpt:defer, so one of them counts */
    int count = bg_policy_report(p, sdom) && strcmp(name, "msg:rcpt:host:defer") != 0;
    int enabled = bg_policy_enabled(p, sdom);
    bg_verdict v;
    memset(&v, 0, sizeof v);
    if (!delivered && (enabled || count) &&
        (bg_engine_classify_text(bg_exim_conf_current(), data, deferred, host, &v) != 0 ||
         !v.category))
        goto out;
    int record = enabled && (delivered || !bg_policy_exempt(p, sdom, rcpt));
    if (!record && !count)
        goto out;
    char what[160];
    snprintf(what, sizeof what, "%s for %.100s not recorded", delivered ? "delivery" : "failure", rcpt);
    bg_store *s = bg_exim_store_handle(cfg, what);
    if (!s)
        goto out;
    long long t0 = bg_exim_store_ms();
    /* the event and its count are one transaction: one commit per event */
    bg_store_status st = count ? bg_store_count_begin(s) : BG_STORE_OK;
    if (st != BG_STORE_OK) {
        bg_exim_store_report(st, bg_exim_store_ms() - t0, what);
        goto out;
    }
    bg_store_rule rule;
    memset(&rule, 0, sizeof rule);
    bg_store_result res;
    memset(&res, 0, sizeof res);
    if (record && delivered) {
        st = bg_store_delivered(s, sdom, rcpt, msgid, ip, remote, 0);
    } else if (record) {
        int temporary = deferred || v.reply_code / 100 == 4;
        bg_policy_rule(p, sdom, v.category->id, v.suppress, temporary, &rule);
        bg_store_event ev = {
            .sender_domain = sdom,
            .recipient = rcpt,
            .message_id = msgid,
            .deferred = deferred,
            .category = v.category->id,
            .status = v.status,
            .reply_code = v.reply_code,
            .diagnostic = data,
            .sending_ip = ip,
            .source = BG_SRC_TRANSPORT,
        };
        st = bg_store_record(s, &ev, &rule, &res);
    }
    if (count) {
        if (st == BG_STORE_OK || st == BG_STORE_DUPLICATE || st == BG_STORE_INVALID) {
            char rdom[256];
            snprintf(rdom, sizeof rdom, "%s", bg_domain_of(rcpt));
            bg_store_outcome o = delivered ? BG_OUT_DELIVERED : failed ? BG_OUT_BOUNCED : BG_OUT_DEFERRED;
            bg_store_status cs = bg_store_count_add(s, sdom, bg_provider_find(host, rdom)->id, o,
                                                    delivered ? "" : v.category->id, 1, 0);
            /* a sending domain the counters refuse (a short mail name):
             * the event still goes in */
            if (cs == BG_STORE_OK || cs == BG_STORE_INVALID || cs == BG_STORE_NOTFOUND)
                cs = bg_store_commit(s);
            else
                bg_store_rollback(s);
            if (cs != BG_STORE_OK) {
                bg_exim_store_report(cs, bg_exim_store_ms() - t0, what);
                goto out;
            }
        } else {
            bg_store_rollback(s);
        }
    }
    if (!record)
        goto out;
    if (st == BG_STORE_OK && res.newly_suppressed)
        bg_logf(BG_LOG_INFO, "store: %.200s suppressed for mail from %.200s: %s (%s, %s)", res.key,
                sdom, v.category->id, rule.mode == BG_SUP_COUNT ? "soft threshold" : "transport",
                v.status[0] ? v.status : "no status");
    else if (st == BG_STORE_OK && res.written && rule.mode == BG_SUP_COUNT)
        bg_logf(BG_LOG_DEBUG, "store: soft event %d/%d for %s from %s", res.soft_count,
                rule.soft_threshold, res.key, sdom);
    else if (st == BG_STORE_INVALID)
        bg_exim_store_invalid(sdom, rcpt, what);
    else if (st != BG_STORE_OK && st != BG_STORE_DUPLICATE)
        bg_exim_store_report(st, bg_exim_store_ms() - t0, what);
out:
    bg_policy_free(p);
    return OK;
}

int bg_dlfunc_check(uschar **yield, int argc, uschar *argv[])
{
    *yield = US "";
    bg_log_set(bg_ev_log, NULL);
    const char *sdom = bg_arg(argc, argv, 0);
    const char *rcpt = bg_arg(argc, argv, 1);
    if (!*sdom || !*rcpt)
        return OK;
    const bg_config *cfg = bg_exim_conf_for_store();
    if (!cfg)
        return OK;
    bg_policy *p = bg_policy_new(cfg);
    if (!p)
        return OK;
    if (!bg_policy_enabled(p, sdom) || bg_policy_exempt(p, sdom, rcpt))
        goto out;
    char what[200];
    snprintf(what, sizeof what, "suppression check for %.100s skipped, accepted", rcpt);
    bg_store *s = bg_exim_store_handle(cfg, what);
    if (!s)
        goto out;
    int hit = 0;
    bg_store_row row;
    long long t0 = bg_exim_store_ms();
    bg_store_status st = bg_store_check(s, sdom, rcpt, 0, &hit, &row);
    if (st == BG_STORE_OK && hit) {
        char date[32];
        bg_store_fmt_date(row.suppressed_since, date);
        *yield = string_sprintf("%s since %s", row.category, date);
    } else if (st != BG_STORE_OK && st != BG_STORE_INVALID) {
        bg_exim_store_report(st, bg_exim_store_ms() - t0, what);
    }
out:
    bg_policy_free(p);
    return OK;
}

/* The bounce-rate guard: "" (mail flows), or why mail of the sending
 * domain is held now, for the ACL's 451 and the router's :defer:. */
int bg_dlfunc_guard(uschar **yield, int argc, uschar *argv[])
{
    *yield = US "";
    bg_log_set(bg_ev_log, NULL);
    const char *sdom = bg_arg(argc, argv, 0);
    if (!*sdom)
        return OK;
    const bg_config *cfg = bg_exim_conf_for_store();
    if (!cfg)
        return OK;
    bg_policy *p = bg_policy_new(cfg);
    if (!p)
        return OK;
    bg_policy_guard g;
    if (!bg_policy_guard_get(p, sdom, &g))
        goto out; /* off: no store, no cost */
    char what[200];
    snprintf(what, sizeof what, "bounce-rate guard for %.100s skipped, mail accepted", sdom);
    bg_store *s = bg_exim_store_handle(cfg, what);
    if (!s)
        goto out;
    bg_store_guard gc;
    long long t0 = bg_exim_store_ms();
    bg_store_status st = bg_store_guard_counts(s, sdom, g.window, 0, &gc);
    if (st == BG_STORE_OK && bg_policy_guard_holds(&g, gc.delivered, gc.bounced)) {
        char since[32];
        bg_store_fmt_time(gc.from, since);
        long long total = gc.delivered + gc.bounced;
        *yield = string_sprintf("bounce rate %.1f%% (%lld of %lld) since %s reached the limit of %.1f%%",
                                100.0 * (double)gc.bounced / (double)total, gc.bounced, total, since,
                                100.0 * g.rate);
    } else if (st != BG_STORE_OK && st != BG_STORE_INVALID) {
        bg_exim_store_report(st, bg_exim_store_ms() - t0, what);
    }
out:
    bg_policy_free(p);
    return OK;
}
