/* bg_cli_suppress: `bounceguide suppress` -- manage the suppression store.
 *
 *   list    [--domain D] [--category C] [--all] [--format table|csv|json]
 *   show    ADDRESS|DOMAIN [--domain D] [--format ...]
 *   add     ADDRESS|DOMAIN --domain D [--category C] [--expires DURATION|never] [--reason TEXT]
 *   remove  ADDRESS|DOMAIN | --file FILE | filters [--domain D] [--category C] [--before T]
 *           [--dry-run] [--reason TEXT]  (bg_cli_suppress_remove.c)
 *   export  [--domain D] [--category C] [--all] [--format ...] [FILE]
 *   import  FILE [--domain D] [--category C] [--dry-run] [--reason TEXT]
 *   expire
 *   stats   [--domain D] [--format ...]
 *   history ADDRESS|DOMAIN [--domain D] [--format table|csv|json]
 *   changes [--since SEQ|TIME|AGE] [--domain D] [--limit N] [--snapshot] [--format table|csv|json]
 *   sync    [--once] [--interval 1s] | --status [--json]   (a fleet host)
 *   migrate --from FILE [--to URL] [--batch N] [--reason TEXT]
 * and everywhere --db FILE|URL, --config FILE.
 *
 * A thin client of bg_store/bg_policy. This file holds the options, the
 * store and the actor (who runs the command: every change it makes is
 * logged with the caller's uid and name), add, expire and the
 * dispatcher; the other verbs live in bg_cli_suppress_list.c,
 * bg_cli_suppress_remove.c, bg_cli_suppress_import.c, bg_cli_history.c and
 * bg_cli_sync.c. --json is --format json, kept for the scripts that use it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <pwd.h>
#include <time.h>
#include <unistd.h>

#include "bg_category.h"
#include "bg_cli.h"
#include "bg_cli_suppress_int.h"
#include "bg_config.h"
#include "bg_policy.h"
#include "bg_store.h"
#include "bg_store_fleet.h"
#include "bg_store_count.h"

static int bg_sup_usage(FILE *out)
{
    fprintf(out,
            "usage: bounceguide suppress COMMAND [OPTIONS]\n"
            "  list    [--domain D] [--category C] [--all] [--format F]  suppressions in force (--all: every row)\n"
            "  show    ADDRESS|DOMAIN [--domain D] [--format F]       the rows for one recipient\n"
            "  add     ADDRESS|DOMAIN --domain D [--category C] [--expires 30d|never] [--reason TEXT]\n"
            "  remove  ADDRESS|DOMAIN [--domain D] [--category C] [--before T] [--dry-run] [--reason TEXT]\n"
            "  remove  --file FILE [--domain D] [--category C] [--before T] [--dry-run] [--reason TEXT]\n"
            "  remove  [--domain D] [--category C] [--before T] [--dry-run] [--reason TEXT]\n"
            "                                                         lift rows (every sending domain without --domain)\n"
            "  export  [--domain D] [--category C] [--all] [--format F] [FILE]  CSV: address,code,error,created_at,...\n"
            "  import  FILE [--domain D] [--category C] [--dry-run] [--reason TEXT]\n"
            "                                                         CSV (ours, Mailgun, SES, Postmark), all or nothing\n"
            "  expire                                                 drop expired rows, old events, changes and counters\n"
            "  stats   [--domain D] [--format F]\n"
            "  history ADDRESS|DOMAIN [--domain D] [--format table|csv|json]\n"
            "                                                         every change: when, what, source, who, why\n"
            "  changes [--since SEQ|TIME|AGE] [--domain D] [--limit N] [--format table|csv|json]\n"
            "          [--snapshot]                                   the change log, for a CRM or a replica\n"
            "  sync    [--once] [--interval 1s] | --status [--json]   a fleet host: ship the journal to the\n"
            "                                                         central store, keep the replica\n"
            "  migrate --from FILE [--to URL] [--batch N]             copy a SQLite store into the central store\n"
            "F: table, csv or json (--json = --format json); --sender-domain D = --domain D\n"
            "options everywhere: --db FILE|URL (default: suppress_db of the config, else %s)\n"
            "                    --config FILE (default %s)\n",
            BG_STORE_DEFAULT_PATH, BG_CLI_DEFAULT_CONFIG);
    return out == stdout ? 0 : 2;
}

/* Parse options after the command name. -1 on a usage error. */
static int bg_sup_parse(int argc, char **argv, bg_sup_opts *o)
{
    static const bg_cli_opt valued[] = {
        {"--db", offsetof(bg_sup_opts, db)},
        {"--config", offsetof(bg_sup_opts, config)},
        {"--domain", offsetof(bg_sup_opts, domain)},
        {"--category", offsetof(bg_sup_opts, category)},
        {"--expires", offsetof(bg_sup_opts, expires)},
        {"--reason", offsetof(bg_sup_opts, reason)},
        {"--format", offsetof(bg_sup_opts, format)},
        {"--since", offsetof(bg_sup_opts, since)},
        {"--limit", offsetof(bg_sup_opts, limit)},
        {"--from", offsetof(bg_sup_opts, from)},
        {"--to", offsetof(bg_sup_opts, to)},
        {"--batch", offsetof(bg_sup_opts, batch)},
        {"--interval", offsetof(bg_sup_opts, interval)},
        {"--file", offsetof(bg_sup_opts, file)},
        {"--before", offsetof(bg_sup_opts, before)},
        {"--sender-domain", offsetof(bg_sup_opts, domain)}, /* the same as --domain */
        {NULL, 0},
    };
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int got = bg_cli_opt_value(valued, o, argc, argv, &i);
        if (got < 0)
            return -1;
        if (got)
            continue;
        if (strcmp(a, "--all") == 0)
            o->all = 1;
        else if (strcmp(a, "--json") == 0)
            o->json = 1;
        else if (strcmp(a, "--dry-run") == 0)
            o->dry_run = 1;
        else if (strcmp(a, "--snapshot") == 0)
            o->snapshot = 1;
        else if (strcmp(a, "--once") == 0)
            o->once = 1;
        else if (strcmp(a, "--status") == 0)
            o->status = 1;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return -2;
        else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "bounceguide: unknown option %s\n", a);
            return -1;
        } else if (o->nargs < 3)
            o->args[1 + o->nargs++] = a;
        else {
            fprintf(stderr, "bounceguide: too many arguments\n");
            return -1;
        }
    }
    return 0;
}

/* Config: the given file (must load) or the default one (may be absent);
 * broken (a bad value too) is refused, as inside Exim. */
static bg_config *bg_sup_config(const bg_sup_opts *o)
{
    return bg_cli_config_load(o->config);
}

bg_store *bg_sup_open(const bg_sup_opts *o, const bg_policy *p, int write)
{
    return bg_cli_store_open(o->db ? o->db : bg_policy_db_path(p), write);
}

void bg_sup_actor(bg_store *s, bg_store_source source, const char *reason)
{
    uid_t uid = getuid();
    char name[BG_STORE_ACTOR_MAX] = "", buf[1024];
    struct passwd pw, *res = NULL;
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res)
        snprintf(name, sizeof name, "%.32s", res->pw_name);
    /* root through sudo: say who asked (sudo's own variable; whoever can
     * set it is root already) */
    const char *by = getenv("SUDO_USER");
    if (uid == 0 && by && *by && strcmp(by, "root") != 0) {
        char tmp[BG_STORE_ACTOR_MAX];
        snprintf(tmp, sizeof tmp, "%.20s (sudo: %.32s)", name[0] ? name : "root", by);
        snprintf(name, sizeof name, "%s", tmp);
    }
    bg_store_actor a = {source, (long long)uid, name, reason ? reason : ""};
    bg_store_set_actor(s, &a);
}

/* ---- commands ---------------------------------------------------------------- */

static int bg_sup_add(const bg_sup_opts *o, const bg_policy *p)
{
    if (o->nargs != 2 || !o->domain) {
        fprintf(stderr, "bounceguide: add needs ADDRESS|DOMAIN and --domain SENDING-DOMAIN\n");
        return 2;
    }
    bg_store_row r;
    memset(&r, 0, sizeof r);
    char key[BG_ADDR_MAX];
    if (bg_store_norm_recipient(o->args[1], key) < 0) {
        fprintf(stderr, "bounceguide: \"%s\": not an address or domain\n", o->args[1]);
        return 1;
    }
    if (!bg_store_domain_valid(o->domain)) {
        fprintf(stderr, "bounceguide: \"%s\": not a domain name\n", o->domain);
        return 1;
    }
    const char *cat = o->category ? o->category : "recipient-suppressed";
    if (!bg_category_find(cat)) {
        fprintf(stderr, "bounceguide: unknown category \"%s\"\n", cat);
        return 1;
    }
    long long now = (long long)time(NULL);
    long long expires = 0;
    if (o->expires && strcasecmp(o->expires, "never") != 0) {
        long long d;
        if (bg_config_parse_num(o->expires, &d) < 0 || d < 0) {
            fprintf(stderr, "bounceguide: --expires \"%s\": a duration like 30d, or never\n", o->expires);
            return 1;
        }
        expires = d ? now + d : 0;
    }
    snprintf(r.sender_domain, sizeof r.sender_domain, "%.253s", o->domain);
    snprintf(r.recipient, sizeof r.recipient, "%s", key);
    snprintf(r.scope, sizeof r.scope, "%s", strchr(key, '@') ? "address" : "domain");
    snprintf(r.category, sizeof r.category, "%s", cat);
    snprintf(r.diagnostic, sizeof r.diagnostic, "%.500s", o->reason ? o->reason : "added by an administrator");
    snprintf(r.source, sizeof r.source, "admin");
    r.first_seen = r.last_seen = r.suppressed_since = now;
    r.expires_at = expires;
    bg_store *s = bg_sup_open(o, p, 1);
    if (!s)
        return 1;
    bg_sup_actor(s, BG_SRC_ADMIN, o->reason);
    bg_store_status st = bg_store_put(s, &r);
    bg_store_close(s);
    if (st != BG_STORE_OK) {
        fprintf(stderr, "bounceguide: add failed: %s\n", bg_store_status_text(st));
        return 1;
    }
    printf("%s suppressed for mail from %s (%s)\n", key, r.sender_domain, cat);
    return 0;
}

static int bg_sup_expire(const bg_sup_opts *o, const bg_policy *p)
{
    bg_store *s = bg_sup_open(o, p, 1);
    if (!s)
        return 1;
    bg_sup_actor(s, BG_SRC_ADMIN, NULL); /* the changes say source expire, and who ran it */
    int rows = 0, events = 0, changes = 0, counters = 0;
    bg_store_status st = bg_store_expire(s, 0, bg_policy_event_retention(p), &rows, &events);
    if (st == BG_STORE_OK)
        st = bg_store_expire_changes(s, 0, bg_policy_change_retention(p), &changes);
    long long keep = bg_policy_report_retention(p); /* report counters; 0 = forever */
    if (st == BG_STORE_OK)
        st = bg_store_count_expire(s, keep > 0 ? (long long)time(NULL) - keep : 0, &counters);
    bg_store_close(s);
    if (st != BG_STORE_OK) {
        fprintf(stderr, "bounceguide: expire failed: %s\n", bg_store_status_text(st));
        return 1;
    }
    printf("expired %d row(s), %d old event(s), %d old change(s), %d old counter(s)\n", rows, events,
           changes, counters);
    return 0;
}

int bg_cli_suppress(int argc, char **argv)
{
    if (argc < 2)
        return bg_sup_usage(stderr);
    bg_sup_opts o;
    memset(&o, 0, sizeof o);
    int pr = bg_sup_parse(argc, argv, &o);
    if (pr == -2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0)
        return bg_sup_usage(stdout);
    if (pr < 0)
        return 2;
    o.args[0] = argv[1];
    o.nargs++;
    static const char *const listing[] = {"list", "show", "export", "stats", "history", "changes", NULL};
    int lists = 0;
    for (int i = 0; listing[i]; i++)
        lists |= strcmp(argv[1], listing[i]) == 0;
    /* sync --status is a listing too: table (the default) or json */
    int status = strcmp(argv[1], "sync") == 0 && o.status;
    if (status && o.format && strcmp(o.format, "json") != 0 && strcmp(o.format, "table") != 0) {
        fprintf(stderr, "bounceguide: sync --status: --format table or json\n");
        return 2;
    }
    if (status && o.format && strcmp(o.format, "json") == 0)
        o.json = 1;
    if ((o.format || o.json) && !lists && !status) {
        fprintf(stderr, "bounceguide: --format and --json are for the listing verbs (list, show, export, "
                        "stats, history, changes, sync --status)\n");
        return 2;
    }
    if (o.domain && !bg_store_domain_valid(o.domain)) {
        fprintf(stderr, "bounceguide: --domain \"%s\": not a domain name\n", o.domain);
        return 2;
    }
    bg_config *cfg = bg_sup_config(&o);
    if (!cfg)
        return 1;
    bg_policy *p = bg_policy_new(cfg);
    int rc = 2;
    const char *cmd = argv[1];
    if (!p)
        rc = 1;
    else if (strcmp(cmd, "list") == 0)
        rc = bg_sup_list(&o, p, 0);
    else if (strcmp(cmd, "show") == 0)
        rc = bg_sup_list(&o, p, 1);
    else if (strcmp(cmd, "add") == 0)
        rc = bg_sup_add(&o, p);
    else if (strcmp(cmd, "remove") == 0)
        rc = bg_sup_remove(&o, p);
    else if (strcmp(cmd, "export") == 0)
        rc = bg_sup_export(&o, p);
    else if (strcmp(cmd, "import") == 0)
        rc = bg_sup_import(&o, p);
    else if (strcmp(cmd, "expire") == 0)
        rc = bg_sup_expire(&o, p);
    else if (strcmp(cmd, "stats") == 0)
        rc = bg_sup_stats(&o, p);
    else if (strcmp(cmd, "history") == 0)
        rc = bg_sup_history(&o, p);
    else if (strcmp(cmd, "changes") == 0)
        rc = bg_sup_changes(&o, p);
    else if (strcmp(cmd, "sync") == 0)
        rc = bg_sup_sync(&o, p);
    else if (strcmp(cmd, "migrate") == 0)
        rc = bg_sup_migrate(&o, p);
    else {
        fprintf(stderr, "bounceguide: unknown suppress command \"%s\"\n", cmd);
        bg_sup_usage(stderr);
    }
    bg_policy_free(p);
    bg_config_free(cfg);
    return rc;
}
