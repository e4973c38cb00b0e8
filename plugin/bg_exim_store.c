/* bg_exim_store: what local_scan writes to the suppression store, and the
 * per-process store handle shared with the dlfunc entry points.
 *
 * local_scan sees what the transport never does: bounces after a retry
 * timeout (this Exim's own reports) and reports arriving from other
 * servers. An inbound report counts only with proof that it answers mail we
 * sent -- an envelope recipient with a valid prvs (BATV) signature, or a
 * returned Message-ID that the transport recorded at delivery (and, then,
 * for a recipient it was delivered to). Without proof the report is still
 * enriched by bg_exim.c but nothing is written, and the log says so.
 * Everything fails open: one log line, mail untouched.
 */
#define LOCAL_SCAN
#include <exim4/local_scan.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bg_exim_hooks.h"
#include "bg_exim_store.h"
#include "bg_log.h"
#include "bg_prvs.h"

/* The cached handle of this process. */
static struct {
    pid_t pid;
    char path[1024];
    int timeout_ms;
    bg_store *s;
    bg_store_status failed; /* last open failure logged in this process */
    char failed_path[1024];
} bg_xs;

long long bg_exim_store_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bg_store *bg_exim_store_handle(const bg_config *cfg, const char *what)
{
    bg_policy *p = bg_policy_new(cfg);
    if (!p)
        return NULL;
    const char *path = bg_policy_db_path(p);
    int timeout = bg_policy_timeout_ms(p);
    pid_t pid = getpid();
    if (bg_xs.s && bg_xs.pid != pid) {
        /* inherited across fork: the parent's connection and locks are not
         * ours to use or close; leave it and open our own */
        bg_xs.s = NULL;
    }
    if (bg_xs.s && (strcmp(bg_xs.path, path) != 0 || bg_xs.timeout_ms != timeout)) {
        bg_store_close(bg_xs.s);
        bg_xs.s = NULL;
    }
    if (!bg_xs.s) {
        bg_store_status st = BG_STORE_OK;
        char err[400];
        long long t0 = bg_exim_store_ms();
        bg_xs.s = bg_store_open(path, timeout, BG_STORE_CREATE, &st, err, sizeof err);
        if (bg_xs.s) {
            bg_xs.pid = pid;
            snprintf(bg_xs.path, sizeof bg_xs.path, "%s", path);
            bg_xs.timeout_ms = timeout;
            bg_xs.failed = BG_STORE_OK;
        } else if (bg_xs.pid != pid || bg_xs.failed != st || strcmp(bg_xs.failed_path, path) != 0) {
            bg_xs.pid = pid;
            bg_xs.failed = st;
            snprintf(bg_xs.failed_path, sizeof bg_xs.failed_path, "%s", path);
            bg_logf(BG_LOG_WARN, "store: %s (after %lld ms); %s", err, bg_exim_store_ms() - t0,
                    what);
        }
    }
    bg_policy_free(p);
    return bg_xs.s;
}

void bg_exim_store_report(bg_store_status st, long long waited_ms, const char *what)
{
    const char *path = bg_xs.path[0] ? bg_xs.path : "suppression database";
    bg_logf(BG_LOG_WARN, "store: %s: %s (waited %lld ms); %s", path, bg_store_status_text(st),
            waited_ms, what);
}

void bg_exim_store_invalid(const char *sender_domain, const char *rcpt, const char *what)
{
    /* once per process and domain: a short mail name (user@vm, root@localhost)
     * would otherwise fail silently on every message */
    static char said[256];
    if (strcmp(said, sender_domain) == 0)
        return;
    snprintf(said, sizeof said, "%s", sender_domain);
    bg_logf(BG_LOG_WARN,
            "store: %s: sending domain '%.100s' or recipient '%.100s' is not a full domain "
            "name (the store keys on domains with a dot: set Exim's qualify_domain or the "
            "mail name to one)", what, sender_domain, rcpt);
}

void bg_exim_prvs_secret(const bg_config *cfg, const char *domain, int keynum, char out[72])
{
    out[0] = '\0';
    char key[32];
    snprintf(key, sizeof key, "prvs_secret_%d", keynum);
    const char *v = bg_config_get(cfg, domain, key, "");
    if (!v || !*v)
        v = bg_config_get(cfg, domain, "prvs_secret", "");
    if (v && *v) {
        snprintf(out, 72, "%.64s", v);
        return;
    }
    const char *file = bg_config_get(cfg, domain, "prvs_secret_file", "");
    if (!file || !*file)
        return;
    FILE *f = fopen(file, "r");
    if (!f) {
        bg_logf(BG_LOG_WARN, "store: prvs_secret_file %s cannot be read; prvs proofs off", file);
        return;
    }
    char line[128] = "";
    if (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        snprintf(out, 72, "%.64s", line);
    }
    fclose(f);
}

/* The sending domain of a report: the domain of its envelope recipient
 * (the original sender), with a prvs tag taken off. *signed_out tells
 * whether it carried a valid signature (1), a bad one (-1) or none (0). */
static int bg_exim_report_owner(const bg_config *cfg, char domain[BG_ADDR_MAX], int *signed_out,
                                char why[160])
{
    *signed_out = 0;
    why[0] = '\0';
    if (recipients_count < 1 || !recipients_list || !recipients_list[0].address)
        return -1;
    const char *rcpt = (const char *)recipients_list[0].address;
    bg_prvs pv;
    if (bg_prvs_parse(rcpt, &pv)) {
        const char *at = strrchr(pv.address, '@');
        char secret[72];
        bg_exim_prvs_secret(cfg, at + 1, pv.keynum, secret);
        bg_prvs_result r = bg_prvs_verify(&pv, secret, (long long)time(NULL));
        *signed_out = r == BG_PRVS_VALID ? 1 : -1;
        snprintf(why, 160, "prvs: %s", bg_prvs_result_text(r));
        rcpt = pv.address;
        memset(secret, 0, sizeof secret);
        const char *d = strrchr(rcpt, '@');
        return bg_store_norm_recipient(d + 1, domain);
    }
    const char *d = strrchr(rcpt, '@');
    if (!d)
        return -1;
    return bg_store_norm_recipient(d + 1, domain);
}

void bg_exim_store_bounce(const bg_config *cfg, const bg_bounce *b, const bg_verdict *v,
                          size_t n, int inbound, const char *message_id)
{
    if (!cfg || !b || !v || n == 0)
        return;
    char domain[BG_ADDR_MAX], why[160];
    int signed_ok = 0;
    if (bg_exim_report_owner(cfg, domain, &signed_ok, why) < 0)
        return; /* no usable envelope recipient: nothing to attribute */
    bg_policy *p = bg_policy_new(cfg);
    if (!p)
        return;
    if (!bg_policy_enabled(p, domain))
        goto out;

    /* the dedupe key: the returned message's Message-ID, as the transport
     * saw it; the report's own id when the original is not included */
    char orig_id[BG_MSGID_MAX];
    bg_store_norm_msgid(b->orig.message_id, orig_id);
    const char *key = orig_id[0] ? orig_id : (message_id ? message_id : "");

    bg_store *s = bg_exim_store_handle(cfg, "bounce not recorded");
    if (!s)
        goto out;

    int by_msgid = 0;
    if (inbound && signed_ok != 1) {
        int found = 0;
        long long t0 = bg_exim_store_ms();
        bg_store_status st = orig_id[0] ? bg_store_was_sent(s, orig_id, NULL, &found) : BG_STORE_OK;
        if (st != BG_STORE_OK) {
            bg_exim_store_report(st, bg_exim_store_ms() - t0, "inbound bounce not recorded");
            goto out;
        }
        if (!found) {
            bg_logf(BG_LOG_INFO,
                    "store: inbound bounce %s for %s not recorded: no proof it answers our mail "
                    "(%s; returned Message-ID %s)",
                    message_id ? message_id : "", domain, why[0] ? why : "no prvs signature",
                    orig_id[0] ? "not sent from here" : "absent");
            goto out;
        }
        by_msgid = 1;
    }

    for (size_t i = 0; i < n; i++) {
        const bg_rcpt *rc = &b->rcpts[i];
        const bg_verdict *vi = &v[i];
        if (!vi->category || !vi->category->failure)
            continue;
        const char *addr = rc->recipient[0] ? rc->recipient : rc->original_recipient;
        if (!addr[0] || bg_policy_exempt(p, domain, addr))
            continue;
        if (by_msgid) {
            int found = 0;
            const char *alt = rc->original_recipient[0] ? rc->original_recipient : addr;
            if (bg_store_was_sent(s, orig_id, addr, &found) == BG_STORE_OK && !found)
                bg_store_was_sent(s, orig_id, alt, &found);
            if (!found) {
                bg_logf(BG_LOG_INFO,
                        "store: inbound bounce %s: %.200s was not a recipient of %s; not recorded",
                        message_id ? message_id : "", addr, orig_id);
                continue;
            }
        }
        int temporary = strcasecmp(rc->action, "delayed") == 0 || vi->reply_code / 100 == 4 ||
                        bg_status_class(vi->status) == '4';
        bg_store_rule rule;
        bg_policy_rule(p, domain, vi->category->id, vi->suppress, temporary, &rule);
        bg_store_event ev = {
            .sender_domain = domain,
            .recipient = addr,
            .message_id = key,
            .deferred = strcasecmp(rc->action, "delayed") == 0,
            .category = vi->category->id,
            .status = vi->status,
            .reply_code = vi->reply_code,
            .diagnostic = rc->diagnostic,
            .sending_ip = "",
            .source = inbound ? BG_SRC_INBOUND : BG_SRC_BOUNCE,
        };
        bg_store_result res;
        long long t0 = bg_exim_store_ms();
        bg_store_status st = bg_store_record(s, &ev, &rule, &res);
        if (st == BG_STORE_OK && res.newly_suppressed)
            bg_logf(BG_LOG_INFO, "store: %.200s suppressed for mail from %s: %s (%s%s%s)", res.key,
                    domain, vi->category->id, bg_store_source_name(ev.source),
                    inbound ? ", " : "", inbound ? (by_msgid ? "Message-ID sent from here" : why) : "");
        else if (st != BG_STORE_OK && st != BG_STORE_DUPLICATE && st != BG_STORE_INVALID) {
            bg_exim_store_report(st, bg_exim_store_ms() - t0, "bounce not recorded");
            break; /* one line per message for one problem */
        }
    }
out:
    bg_policy_free(p);
}
