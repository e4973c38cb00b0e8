/* bg_cli_diagnose: `bounceguide diagnose` -- the authentication diagnosis
 * an administrator can run by hand (or a monitor can run on a schedule):
 * the same findings and advice the bounce carries, in the same words
 * (the engine's catalogues, in the languages --config gives the sending
 * domain), for a sending setup given on
 * the command line. How mail leaves comes from --config and Debian's
 * files as inside Exim, or from --topology/--smarthost. Unlike inside
 * Exim it looks up any domain it is given: the person running it chose
 * them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg_auth.h"
#include "bg_auth_words.h"
#include "bg_cli.h"
#include "bg_config.h"
#include "bg_dns.h"
#include "bg_engine.h"

static int bg_cli_diagnose_usage(FILE *out)
{
    fprintf(out,
            "usage: bounceguide diagnose --sender DOMAIN --from DOMAIN [--ip IP]\n"
            "         (an address in place of a DOMAIN stands for its domain)\n"
            "         [--helo NAME] [--dkim-domain D] [--dkim-selector S]\n"
            "         [--topology direct|smarthost] [--smarthost HOST] [--reply TEXT]\n"
            "         [--config FILE] [--dns-server IP[:PORT]] [--budget MS]\n"
            "         [--zone FILE] [--repeat N]\n"
            "  SPF (envelope domain and, sending directly, HELO name), DMARC of the\n"
            "  From: domain with alignment, the DKIM key record (with --dkim-* or a\n"
            "  configured signer; without --dkim-domain the message counts as\n"
            "  unsigned), and reverse DNS of the address receivers see,\n"
            "  with advice. --ip is that address (or this host's own end, when it\n"
            "  is loopback or private); --reply takes the address a receiver's reply\n"
            "  names. --zone answers from a file of \"NAME TYPE DATA\" lines instead\n"
            "  of DNS; --repeat times N runs (the first with a cold cache).\n"
            "  Exit 0 done, 1 no diagnosis, 2 usage.\n");
    return out == stdout ? 0 : 2;
}

/* Fill a zone resolver from a file of "NAME TYPE DATA..." lines. */
static int bg_cli_diagnose_zone(bg_dns *d, const char *path)
{
    size_t len = 0;
    char *text = bg_cli_read_file(path, 4u << 20, &len);
    if (!text)
        return -1;
    int lineno = 0, rc = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        while (*line == ' ' || *line == '\t')
            line++;
        if (!*line || *line == '#')
            continue;
        char name[256], type[16];
        int off = 0;
        if (sscanf(line, "%255s %15s %n", name, type, &off) < 2 || !line[off]) {
            fprintf(stderr, "bounceguide: %s:%d: expected NAME TYPE DATA\n", path, lineno);
            rc = -1;
            break;
        }
        char *data = line + off;
        size_t dl = strlen(data);
        while (dl > 0 && (data[dl - 1] == '\r' || data[dl - 1] == ' '))
            data[--dl] = '\0';
        if (dl >= 2 && data[0] == '"' && data[dl - 1] == '"') {
            data[dl - 1] = '\0';
            data++;
        }
        if (bg_dns_add(d, name, type, data) != 0) {
            fprintf(stderr, "bounceguide: %s:%d: cannot add %s %s\n", path, lineno, name, type);
            rc = -1;
            break;
        }
    }
    free(text);
    return rc;
}

static double bg_cli_diagnose_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

int bg_cli_diagnose(int argc, char **argv)
{
    const char *sender = "", *from = "", *ip = "", *helo = "", *dkim = "", *sel = "";
    const char *config = NULL, *servers = NULL, *zone = NULL, *topology = "", *smarthost = "";
    const char *reply_text = "";
    long budget = -1;
    int repeat = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return bg_cli_diagnose_usage(stdout);
        if (i + 1 >= argc)
            return bg_cli_diagnose_usage(stderr);
        if (strcmp(a, "--sender") == 0) slot = &sender;
        else if (strcmp(a, "--from") == 0) slot = &from;
        else if (strcmp(a, "--ip") == 0) slot = &ip;
        else if (strcmp(a, "--helo") == 0) slot = &helo;
        else if (strcmp(a, "--dkim-domain") == 0) slot = &dkim;
        else if (strcmp(a, "--dkim-selector") == 0) slot = &sel;
        else if (strcmp(a, "--config") == 0) slot = &config;
        else if (strcmp(a, "--dns-server") == 0) slot = &servers;
        else if (strcmp(a, "--zone") == 0) slot = &zone;
        else if (strcmp(a, "--topology") == 0) slot = &topology;
        else if (strcmp(a, "--smarthost") == 0) slot = &smarthost;
        else if (strcmp(a, "--reply") == 0) slot = &reply_text;
        else if (strcmp(a, "--budget") == 0) {
            budget = strtol(argv[++i], NULL, 10);
            continue;
        } else if (strcmp(a, "--repeat") == 0) {
            repeat = atoi(argv[++i]);
            if (repeat < 1 || repeat > 100000)
                return bg_cli_diagnose_usage(stderr);
            continue;
        } else
            return bg_cli_diagnose_usage(stderr);
        *slot = argv[++i];
    }
    if ((!*sender && !*from) ||
        (*topology && strcmp(topology, "direct") != 0 && strcmp(topology, "smarthost") != 0))
        return bg_cli_diagnose_usage(stderr);

    /* config and catalogues from the engine, as inside Exim; without
     * --config the built-in defaults (cfg NULL for the auth checks: no
     * configured topology, Debian's files) */
    bg_engine_opts eo = {.config_path = config};
    bg_engine *e = bg_engine_new(&eo);
    if (!e || !bg_engine_config(e)) {
        fprintf(stderr, "bounceguide: %s\n", e ? bg_engine_why(e) : "out of memory");
        bg_engine_free(e);
        return 2;
    }
    bg_engine_warn(e);
    const bg_config *cfg = config ? bg_engine_config(e) : NULL;
    /* an address (or a From: value) stands for its domain */
    char sdom[256], fdom[256];
    if (strchr(sender, '@'))
        sender = bg_auth_addr_domain(sender, sdom, sizeof sdom);
    if (strchr(from, '@'))
        from = bg_auth_addr_domain(from, fdom, sizeof fdom);
    const char *dom = *sender ? sender : from;
    if (budget < 0)
        budget = bg_auth_budget_ms(cfg, dom);
    if (!servers && cfg)
        servers = bg_config_get(cfg, NULL, "diagnose_dns_servers", NULL);
    bg_auth_topo topo;
    bg_auth_topo_load(cfg, dom, &topo);
    if (*topology) {
        topo.kind = strcmp(topology, "direct") == 0 ? BG_TOPO_DIRECT : BG_TOPO_SMARTHOST;
        topo.source = BG_TOPO_SRC_GIVEN;
    }
    if (*smarthost) {
        snprintf(topo.smarthost, sizeof topo.smarthost, "%s", smarthost);
        topo.kind = BG_TOPO_SMARTHOST;
        topo.source = BG_TOPO_SRC_GIVEN;
    }
    if (topo.kind != BG_TOPO_SMARTHOST)
        topo.smarthost[0] = '\0';
    char reply[64] = "";
    bg_auth_reply_ip(reply_text, "", reply, sizeof reply);
    /* the words of the bounce for this sending domain: its languages
     * (the sender's line, the administrator's list) */
    const char *cerr = "";
    bg_lang *langs = bg_engine_langs(e, &cerr);
    bg_lang_pick pick;
    memset(&pick, 0, sizeof pick);
    if (langs)
        bg_lang_choose(langs, "", dom, NULL, 0, NULL, &pick);
    bg_dns *d = zone ? bg_dns_new_zone() : bg_dns_new(servers);
    bg_auth_findings *f = calloc(1, sizeof *f);
    if (!langs || !d || !f || (zone && bg_cli_diagnose_zone(d, zone) != 0)) {
        if (!langs)
            fprintf(stderr, "bounceguide: %s\n", cerr[0] ? cerr : "out of memory");
        else if (!d)
            fprintf(stderr, "bounceguide: no usable DNS server\n");
        free(f);
        bg_dns_free(d);
        bg_engine_free(e);
        return 1;
    }
    bg_auth_input in = {
        .envelope_domain = sender, .helo = helo, .from_domain = from,
        .dkim_domain = dkim, .dkim_selector = sel, .ip = ip, .ip_source = BG_AUTH_IP_GIVEN,
        .config_ip = cfg ? bg_config_get(cfg, dom, "sending_ip", "") : "", .reply_ip = reply,
        .topo = &topo, .sig_visible = 1, /* no --dkim-domain: an unsigned message */
        .check_dkim = *dkim || *sel || topo.dkim_source != BG_TOPO_SRC_NONE,
    };
    double cold = 0, warm_total = 0, warm_max = 0;
    for (int r = 0; r < repeat; r++) {
        double t0 = bg_cli_diagnose_now_ms();
        bg_auth_diagnose(d, &in, budget, f);
        double ms = bg_cli_diagnose_now_ms() - t0;
        if (r == 0)
            cold = ms;
        else {
            warm_total += ms;
            if (ms > warm_max)
                warm_max = ms;
        }
    }
    int rc = 0;
    bg_buf admin, for_sender;
    bg_buf_init(&admin);
    bg_buf_init(&for_sender);
    if (f->status == BG_AUTH_DONE && bg_auth_words(f, pick.admin_catalog, pick.catalog, &admin, &for_sender) == 0) {
        printf("%s", bg_buf_str(&admin));
        printf("\n%s\n", bg_buf_str(&for_sender));
    } else {
        printf("No diagnosis (%s): %s\n", bg_auth_status_name(f->status),
               f->status == BG_AUTH_DONE ? "out of memory" : f->reason);
        rc = 1;
    }
    bg_buf_free(&admin);
    bg_buf_free(&for_sender);
    if (repeat > 1) {
        bg_dns_stats s;
        bg_dns_get_stats(d, &s);
        printf("timing: cold %.3f ms; warm mean %.3f ms, max %.3f ms over %d runs; "
               "%lu queries, %lu cache hits\n",
               cold, warm_total / (repeat - 1), warm_max, repeat - 1, s.queries, s.cache_hits);
    }
    free(f);
    bg_dns_free(d);
    bg_engine_free(e);
    bg_auth_words_release();
    return rc;
}
