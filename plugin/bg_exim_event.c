/* bg_exim_event: the suppression store's dlfunc entry points.
 *
 *   bg_dlfunc_event -- for the smtp transports' event_action: records
 *     failures and deferrals (classified from $event_data by the core) and
 *     deliveries (Message-ID proof for inbound bounces, soft count reset).
 *     7 arguments at most: Exim 4.96 garbles argc at 8.
 *       {$event_name}{$sender_address}{$local_part@$domain}{$event_data}
 *       {$h_message-id:}{$sending_ip_address $host_address}{$message_exim_id}
 *     (the sixth: our IP, a blank, the remote host's IP -- the host that
 *     accepted a delivery is what an inbound report is checked against;
 *     a lone IP, as older macros pass it, is ours)
 *   bg_dlfunc_check -- for a RCPT ACL or a router:
 *       {$sender_address_domain}{$local_part@$domain}
 *     yields "" (not suppressed) or "CATEGORY since YYYY-MM-DD".
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
#include "bg_store.h"

#define BG_EXPORT __attribute__((visibility("default")))

BG_EXPORT int bg_dlfunc_event(uschar **yield, int argc, uschar *argv[]);
BG_EXPORT int bg_dlfunc_check(uschar **yield, int argc, uschar *argv[]);

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

int bg_dlfunc_event(uschar **yield, int argc, uschar *argv[])
{
    *yield = US "";
    bg_log_set(bg_ev_log, NULL);
    const char *name = bg_arg(argc, argv, 0);
    const char *sender = bg_arg(argc, argv, 1);
    const char *rcpt = bg_arg(argc, argv, 2);
    const char *data = bg_arg(argc, argv, 3);
    const char *msgid = bg_arg(argc, argv, 4);
    /* "OUR_IP REMOTE_IP" (either may be empty) */
    char ip[BG_IP_MAX], remote[BG_IP_MAX];
    bg_exim_split_ips(bg_arg(argc, argv, 5), ip, remote);
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
    if (!bg_policy_enabled(p, sdom))
        goto out;
    char what[160];
    snprintf(what, sizeof what, "%s for %.100s not recorded", delivered ? "delivery" : "failure", rcpt);

    if (delivered) {
        bg_store *s = bg_exim_store_handle(cfg, what);
        if (!s)
            goto out;
        long long t0 = bg_exim_store_ms();
        bg_store_status st = bg_store_delivered(s, sdom, rcpt, msgid, ip, remote, 0);
        if (st != BG_STORE_OK && st != BG_STORE_INVALID)
            bg_exim_store_report(st, bg_exim_store_ms() - t0, what);
        goto out;
    }

    if (bg_policy_exempt(p, sdom, rcpt))
        goto out;
    bg_verdict v;
    memset(&v, 0, sizeof v);
    if (bg_engine_classify_text(bg_exim_conf_current(), data, deferred, &v) != 0 || !v.category)
        goto out;
    int temporary = deferred || v.reply_code / 100 == 4;
    bg_store_rule rule;
    bg_policy_rule(p, sdom, v.category->id, v.suppress, temporary, &rule);
    bg_store *s = bg_exim_store_handle(cfg, what);
    if (!s)
        goto out;
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
    bg_store_result res;
    long long t0 = bg_exim_store_ms();
    bg_store_status st = bg_store_record(s, &ev, &rule, &res);
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
