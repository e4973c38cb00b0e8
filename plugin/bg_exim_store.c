/* bg_exim_store: what local_scan writes to the suppression store, the
 * per-process store handle shared with the dlfunc entry points, and the
 * facts behind our own refusals for the bounce.
 *
 * local_scan sees what the transport never does: bounces after a retry
 * timeout (this Exim's own reports) and reports arriving from other
 * servers. A report from another server is remote text from anyone; it
 * may only touch (sending domain, message, recipient) that our transport
 * delivered, and only as far as its sender speaks for the recipient's
 * domain (bg_inbound; docs/security.md lists the attacks and their tests).
 * Our own refusals (category suppressed-here) never change a row.
 *
 * Everything fails open: one log line, mail untouched. After the store
 * timed out once, the rest of the process skips it.
 */
#define LOCAL_SCAN
#include <exim4/local_scan.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bg_catalog.h"
#include "bg_exim_hooks.h"
#include "bg_exim_store.h"
#include "bg_feedback.h"
#include "bg_inbound.h"
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
    int skip;               /* timed out once: the store is skipped from now on */
    bg_dns *dns;            /* for the inbound host check */
    char dns_servers[256];
} bg_xs;

long long bg_exim_store_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Forget the connection a parent process left us (not its skip). */
static void bg_exim_store_forked(void)
{
    pid_t pid = getpid();
    if (bg_xs.pid == pid)
        return;
    /* inherited across fork: the parent's connection and locks are not
     * ours to use or close; leave it and open our own. A skip is kept: the
     * child (a delivery after reception, a transport) works for the same
     * message and would wait for the same lock. */
    bg_xs.s = NULL;
    bg_xs.failed = BG_STORE_OK;
    bg_xs.pid = pid;
}

/* The one line for the first timeout of this process; the rest is silent. */
static void bg_exim_store_skip(const char *head, long long waited_ms, const char *what)
{
    if (bg_xs.skip)
        return;
    bg_xs.skip = 1;
    bg_logf(BG_LOG_WARN,
            "store: %s (waited %lld ms); %s; the store is skipped for the rest of this process",
            head, waited_ms, what);
}

int bg_exim_store_skipped(void)
{
    bg_exim_store_forked();
    return bg_xs.skip;
}

bg_store *bg_exim_store_handle(const bg_config *cfg, const char *what)
{
    bg_policy *p = bg_policy_new(cfg);
    if (!p)
        return NULL;
    /* the handle's identity: the database, and a fleet host's local files */
    char path[1024];
    const char *db = bg_policy_db_path(p);
    if (bg_store_is_central(db))
        snprintf(path, sizeof path, "%.300s|%.300s|%.300s", db, bg_policy_replica_path(p),
                 bg_policy_journal_path(p));
    else
        snprintf(path, sizeof path, "%s", db);
    int timeout = bg_policy_timeout_ms(p);
    bg_exim_store_forked();
    if (strcmp(bg_xs.path, path) != 0 || bg_xs.timeout_ms != timeout) {
        if (bg_xs.s)
            bg_store_close(bg_xs.s);
        bg_xs.s = NULL;
        bg_xs.skip = 0; /* another database: another chance */
        snprintf(bg_xs.path, sizeof bg_xs.path, "%s", path);
        bg_xs.timeout_ms = timeout;
    }
    if (!bg_xs.s && !bg_xs.skip) {
        bg_store_status st = BG_STORE_OK;
        char err[400];
        long long t0 = bg_exim_store_ms();
        /* a file, or a fleet host's view of a central store (PostgreSQL):
         * checks on the local replica, events into the local journal */
        bg_xs.s = bg_policy_store_open(p, BG_STORE_CREATE, &st, err, sizeof err);
        if (bg_xs.s) {
            bg_xs.failed = BG_STORE_OK;
        } else if (st == BG_STORE_BUSY) {
            bg_exim_store_skip(err, bg_exim_store_ms() - t0, what);
        } else if (bg_xs.failed != st || strcmp(bg_xs.failed_path, path) != 0) {
            bg_xs.failed = st;
            snprintf(bg_xs.failed_path, sizeof bg_xs.failed_path, "%s", path);
            bg_logf(BG_LOG_WARN, "store: %s (after %lld ms); %s", err, bg_exim_store_ms() - t0,
                    what);
        }
    }
    bg_policy_free(p);
    return bg_xs.skip ? NULL : bg_xs.s;
}

void bg_exim_store_report(bg_store_status st, long long waited_ms, const char *what)
{
    /* a fleet handle says which part failed (its journal, the central store) */
    const char *where = bg_xs.s ? bg_store_where(bg_xs.s) : "";
    char shown[1024];
    bg_store_redact(bg_xs.path, shown, sizeof shown); /* never a password in the log */
    shown[strcspn(shown, "|")] = '\0';
    const char *path = *where ? where : shown[0] ? shown : "suppression database";
    char head[1200];
    snprintf(head, sizeof head, "%s: %s", path, bg_store_status_text(st));
    if (st == BG_STORE_BUSY) {
        bg_exim_store_skip(head, waited_ms, what);
        return;
    }
    bg_logf(BG_LOG_WARN, "store: %s (waited %lld ms); %s", head, waited_ms, what);
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

void bg_exim_split_ips(const char *arg, char local[BG_IP_MAX], char remote[BG_IP_MAX])
{
    local[0] = remote[0] = '\0';
    if (!arg)
        return;
    /* exactly one blank between the two: either side may be empty */
    size_t n = strcspn(arg, " ");
    snprintf(local, BG_IP_MAX, "%.*s", (int)(n < BG_IP_MAX - 1 ? n : BG_IP_MAX - 1), arg);
    arg += n;
    if (*arg == ' ')
        arg++;
    n = strcspn(arg, " ");
    snprintf(remote, BG_IP_MAX, "%.*s", (int)(n < BG_IP_MAX - 1 ? n : BG_IP_MAX - 1), arg);
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
        bg_logf(BG_LOG_WARN, "store: prvs_secret_file %s cannot be read; prvs signatures not checked",
                file);
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

void bg_exim_store_own_refusals(bg_verdict *v, size_t n, int inbound)
{
    if (!inbound)
        return;
    const bg_category *rs = bg_category_find("recipient-suppressed");
    for (size_t i = 0; i < n && rs; i++) {
        if (!v[i].category || strcmp(v[i].category->id, "suppressed-here") != 0)
            continue;
        /* the words of a bounceguide refusal, but in another server's
         * report: that server's list, not ours */
        v[i].category = rs;
        v[i].suppress = rs->suppress;
        snprintf(v[i].rule, sizeof v[i].rule, "inbound:not-our-refusal");
    }
}

/* The address a report names for one recipient ("" when none). */
static const char *bg_exim_rcpt_addr(const bg_rcpt *rc)
{
    return rc->recipient[0] ? rc->recipient : rc->original_recipient;
}

/* 1 when the recipient's failure is temporary (a delay, a 4xx). */
static int bg_exim_temporary(const bg_rcpt *rc, const bg_verdict *v)
{
    return strcasecmp(rc->action, "delayed") == 0 || v->reply_code / 100 == 4 ||
           bg_status_class(v->status) == '4';
}

/* Record one recipient of a report under rule; 0, or -1 to stop (a store
 * failure, already logged). */
static int bg_exim_store_one(bg_store *s, const char *domain, const char *addr, const bg_rcpt *rc,
                             const bg_verdict *v, const bg_store_rule *rule, const char *key,
                             bg_store_source source, const char *proof)
{
    bg_store_event ev = {
        .sender_domain = domain,
        .recipient = addr,
        .message_id = key,
        .deferred = strcasecmp(rc->action, "delayed") == 0,
        .category = v->category->id,
        .status = v->status,
        .reply_code = v->reply_code,
        .diagnostic = rc->diagnostic,
        .sending_ip = "",
        .source = source,
        .note = proof, /* kept with the change it makes (suppress history) */
    };
    bg_store_result res;
    long long t0 = bg_exim_store_ms();
    bg_store_status st = bg_store_record(s, &ev, rule, &res);
    if (st == BG_STORE_OK && res.newly_suppressed) {
        bg_logf(BG_LOG_INFO, "store: %.200s suppressed for mail from %s: %s (%s%s%s)", res.key, domain,
                v->category->id, bg_store_source_name(source), proof[0] ? ", " : "", proof);
    } else if (st != BG_STORE_OK && st != BG_STORE_DUPLICATE && st != BG_STORE_INVALID) {
        bg_exim_store_report(st, bg_exim_store_ms() - t0, "bounce not recorded");
        return -1; /* one line per message for one problem */
    }
    return 0;
}

bg_dns *bg_exim_inbound_dns(const bg_config *cfg)
{
    long long budget = 2000;
    const char *b = bg_config_get(cfg, NULL, "suppress_inbound_budget", "2s");
    size_t bl = strlen(b);
    if (bl > 2 && strcasecmp(b + bl - 2, "ms") == 0)
        budget = strtoll(b, NULL, 10);
    else if (bg_config_parse_num(b, &budget) == 0)
        budget *= 1000;
    if (budget <= 0)
        return NULL;
    const char *servers = bg_config_get(cfg, NULL, "diagnose_dns_servers", "");
    if (!bg_xs.dns || strcmp(bg_xs.dns_servers, servers) != 0) {
        bg_dns_free(bg_xs.dns);
        bg_xs.dns = bg_dns_new(servers);
        snprintf(bg_xs.dns_servers, sizeof bg_xs.dns_servers, "%s", servers);
    }
    if (bg_xs.dns)
        bg_dns_start(bg_xs.dns, (long)(budget > 60000 ? 60000 : budget));
    return bg_xs.dns;
}

/* A report from another server (or from a local user): what it proves,
 * recipient by recipient (bg_inbound.h). */
static void bg_exim_store_inbound(const bg_config *cfg, bg_policy *p, const char *domain,
                                  int signed_ok, const char *prvs_why, const bg_bounce *b,
                                  const bg_verdict *v, size_t n, const char *report)
{
    if (!bg_config_get_bool(cfg, domain, "suppress_inbound", 1))
        return;
    const char *host = sender_host_address ? (const char *)sender_host_address : "";
    char orig_id[BG_MSGID_MAX];
    bg_store_norm_msgid(b->orig.message_id, orig_id);
    const char *refuse = NULL;
    if (!*host)
        refuse = "not received over SMTP (a local user's report proves nothing)";
    else if (signed_ok < 0)
        refuse = prvs_why; /* a forged or stale signature */
    else if (!orig_id[0])
        refuse = "no returned Message-ID to hold against what we sent";
    if (refuse) {
        bg_logf(BG_LOG_INFO, "store: inbound bounce %s for %s not recorded: no proof it answers our mail (%s)",
                report, domain, refuse);
        return;
    }
    size_t nfail = 0;
    for (size_t i = 0; i < n; i++) {
        const char *addr = bg_exim_rcpt_addr(&b->rcpts[i]);
        if (v[i].category && v[i].category->failure && addr[0] && !bg_policy_exempt(p, domain, addr))
            nfail++;
    }
    if (nfail == 0)
        return;
    long long cap = bg_config_get_num(cfg, domain, "suppress_inbound_max_rcpts", 10);
    if ((long long)nfail > cap) {
        bg_logf(BG_LOG_INFO,
                "store: inbound bounce %s for %s from [%s] not recorded: it names %zu failed "
                "recipients, more than suppress_inbound_max_rcpts (%lld)",
                report, domain, host, nfail, cap);
        return;
    }
    bg_store *s = bg_exim_store_handle(cfg, "inbound bounce not recorded");
    if (!s)
        return;
    bg_dns *dns = NULL;
    int dns_started = 0;
    for (size_t i = 0; i < n; i++) {
        const bg_rcpt *rc = &b->rcpts[i];
        const char *addr = bg_exim_rcpt_addr(rc);
        if (!v[i].category || !v[i].category->failure || !addr[0] || bg_policy_exempt(p, domain, addr))
            continue;
        /* the proof: our transport delivered this message from this
         * sending domain to this recipient */
        int found = 0;
        char accepted_by[BG_IP_MAX] = "";
        long long t0 = bg_exim_store_ms();
        bg_store_status st = bg_store_sent_to(s, domain, orig_id, addr, &found, accepted_by);
        if (st == BG_STORE_OK && !found && rc->original_recipient[0] && strcmp(rc->original_recipient, addr) != 0)
            st = bg_store_sent_to(s, domain, orig_id, rc->original_recipient, &found, accepted_by);
        if (st != BG_STORE_OK) {
            bg_exim_store_report(st, bg_exim_store_ms() - t0, "inbound bounce not recorded");
            return;
        }
        if (!found) {
            bg_logf(BG_LOG_INFO,
                    "store: inbound bounce %s: %.200s was never sent %s from %s; not recorded",
                    report, addr, orig_id, domain);
            continue;
        }
        if (!dns_started) {
            dns = bg_exim_inbound_dns(cfg);
            dns_started = 1;
        }
        const char *at = strrchr(addr, '@');
        char why[400];
        bg_speaks sp = bg_inbound_speaks_for(dns, host, at ? at + 1 : "", accepted_by, why, sizeof why);
        bg_store_rule rule;
        bg_policy_rule(p, domain, v[i].category->id, v[i].suppress, bg_exim_temporary(rc, &v[i]), &rule);
        bg_suppress asked = rule.mode;
        bg_inbound_limit_rule(&rule, sp);
        if (sp == BG_SPEAKS_NO) {
            bg_logf(BG_LOG_INFO, "store: inbound bounce %s: %.200s not recorded: %s", report, addr, why);
            continue;
        }
        if (rule.mode != asked)
            bg_logf(BG_LOG_INFO, "store: inbound bounce %s: %.200s counts as %s, not %s (%s)", report,
                    addr, bg_suppress_name(rule.mode), bg_suppress_name(asked), why);
        char proof[BG_MSGID_MAX + 420];
        snprintf(proof, sizeof proof, "sent %s; %s", orig_id, why);
        if (bg_exim_store_one(s, domain, addr, rc, &v[i], &rule, orig_id, BG_SRC_INBOUND, proof) < 0)
            return;
    }
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
    if (inbound) {
        bg_exim_store_inbound(cfg, p, domain, signed_ok, why, b, v, n,
                              message_id ? message_id : "");
        goto out;
    }

    /* our own report: the dedupe key is the returned message's Message-ID,
     * as the transport saw it; the report's own id when the original is
     * not included */
    char orig_id[BG_MSGID_MAX];
    bg_store_norm_msgid(b->orig.message_id, orig_id);
    const char *key = orig_id[0] ? orig_id : (message_id ? message_id : "");
    bg_store *s = bg_exim_store_handle(cfg, "bounce not recorded");
    if (!s)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const bg_rcpt *rc = &b->rcpts[i];
        const char *addr = bg_exim_rcpt_addr(rc);
        if (!v[i].category || !v[i].category->failure || !addr[0] || bg_policy_exempt(p, domain, addr))
            continue;
        bg_store_rule rule;
        bg_policy_rule(p, domain, v[i].category->id, v[i].suppress, bg_exim_temporary(rc, &v[i]), &rule);
        if (bg_exim_store_one(s, domain, addr, rc, &v[i], &rule, key, BG_SRC_BOUNCE, "") < 0)
            break;
    }
out:
    bg_policy_free(p);
}

/* ---- complaints ------------------------------------------------------- */

void bg_exim_store_complaint(const bg_config *cfg, const bg_bounce *b, const char *msg, size_t len,
                             const char *message_id)
{
    if (!cfg || !b)
        return;
    char env_dom[BG_ADDR_MAX], why[160], ftype[64];
    int signed_ok = 0;
    if (bg_exim_report_owner(cfg, env_dom, &signed_ok, why) < 0)
        env_dom[0] = '\0';
    int named = 0;
    bg_feedback_fields(msg, len, b, ftype, sizeof ftype, &named);
    char env_rcpt[BG_ADDR_MAX + 2];
    snprintf(env_rcpt, sizeof env_rcpt, "x@%s", env_dom); /* only its domain is used */
    bg_complaint_in in = {
        .host = sender_host_address ? (const char *)sender_host_address : "",
        .env_rcpt = env_dom[0] ? env_rcpt : "",
        .prvs = signed_ok < 0 ? -1 : signed_ok,
        .prvs_why = why,
        .id = message_id ? message_id : "",
        .feedback_type = ftype,
        .named = named,
    };
    /* the cheap refusals first: no store, no DNS */
    bg_store *s = NULL;
    bg_dns *dns = NULL;
    if (bg_feedback_is_complaint(ftype) && in.host[0] && in.prvs >= 0 && b->orig.message_id[0]) {
        if (!(s = bg_exim_store_handle(cfg, "complaint not recorded")))
            return;
        dns = bg_exim_inbound_dns(cfg);
    }
    bg_store_status st = BG_STORE_OK;
    long long t0 = bg_exim_store_ms();
    /* with s NULL only the refusal is logged */
    if (bg_feedback_complaint(s, dns, cfg, b, &in, &st) < 0)
        bg_exim_store_report(st, bg_exim_store_ms() - t0, "complaint not recorded");
}

/* ---- the facts behind our own refusals, for the bounce ---------------- */

#define BG_SUP_VARS 6

typedef struct bg_exim_sup_facts {
    char since[32], until[32], reply[BG_STORE_DIAG_MAX + 64], category[BG_CATEGORY_ID_MAX];
    char lift[BG_ADDR_MAX + BG_DOMAIN_MAX + 64];
    bg_catalog_var vars[BG_SUP_VARS + 1];
} bg_exim_sup_facts;

void *bg_exim_store_extra(const bg_config *cfg, const bg_bounce *b, const bg_verdict *v, size_t n,
                          int inbound, bg_render_extra *extra)
{
    if (!cfg || inbound || !b || !v || !extra)
        return NULL;
    size_t want = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].category && strcmp(v[i].category->id, "suppressed-here") == 0)
            want++;
    if (want == 0)
        return NULL;
    char domain[BG_ADDR_MAX], why[160];
    int signed_ok;
    if (bg_exim_report_owner(cfg, domain, &signed_ok, why) < 0)
        return NULL;
    bg_store *s = bg_exim_store_handle(cfg, "suppression facts not added to the bounce");
    if (!s)
        return NULL;
    bg_exim_sup_facts *f = calloc(n, sizeof *f);
    if (!f)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].category || strcmp(v[i].category->id, "suppressed-here") != 0)
            continue;
        const char *addr = bg_exim_rcpt_addr(&b->rcpts[i]);
        int hit = 0;
        bg_store_row row;
        long long t0 = bg_exim_store_ms();
        bg_store_status st = bg_store_check(s, domain, addr, 0, &hit, &row);
        if (st != BG_STORE_OK) {
            if (st != BG_STORE_INVALID)
                bg_exim_store_report(st, bg_exim_store_ms() - t0, "suppression facts not added to the bounce");
            break;
        }
        if (!hit)
            continue; /* lifted meanwhile: the texts without the facts */
        bg_exim_sup_facts *x = &f[i];
        bg_store_fmt_date(row.suppressed_since, x->since);
        if (row.expires_at > 0)
            bg_store_fmt_date(row.expires_at, x->until);
        if (row.diagnostic[0]) {
            /* the reply itself, without the transport's "SMTP error from
             * remote mail server after RCPT TO:<x>: " in front */
            const char *d = row.diagnostic;
            static const char pre[] = "SMTP error from remote mail server after ";
            const char *colon = strncmp(d, pre, sizeof pre - 1) == 0 ? strstr(d + sizeof pre - 1, ": ") : NULL;
            snprintf(x->reply, sizeof x->reply, "%s", colon && colon[2] ? colon + 2 : d);
        }
        else if (row.reply_code > 0 || row.status[0])
            snprintf(x->reply, sizeof x->reply, "%d %s", row.reply_code, row.status);
        snprintf(x->category, sizeof x->category, "%s", row.category);
        snprintf(x->lift, sizeof x->lift, "bounceguide suppress remove %s --domain %s", row.recipient,
                 row.sender_domain);
        const bg_catalog_var vars[] = {
            {"suppressed_since", x->since},   {"suppressed_until", x->until},
            {"suppressed_reply", x->reply},   {"suppressed_category", x->category},
            {"lift_command", x->lift},        {NULL, NULL},
        };
        memcpy(x->vars, vars, sizeof vars);
        extra[i].vars = x->vars;
    }
    return f;
}

void bg_exim_store_extra_free(void *handle)
{
    free(handle);
}
