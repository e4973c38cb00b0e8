/* bg_dns: a bounded, caching DNS resolver for the authentication diagnosis.
 *
 * Why not res_query: glibc's resolver waits timeout x attempts x servers
 * (5 s x 2 x 3 by default) and its state is per thread, so a dead name
 * server would hold a bounce for up to 30 s. Here every query gets at most
 * the time left of the per-bounce budget, spread over the servers; ICMP
 * "port unreachable" (a stopped server) ends an attempt at once. The
 * packet is built and read with libresolv's ns_* parser. It only does the
 * record types SPF, DMARC and PTR checks need (A, AAAA, MX, TXT, PTR).
 * It does not validate DNSSEC and does not recurse: it needs a recursive
 * (or, in tests, authoritative) server.
 */
#include "bg_dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <spf2/spf_dns_rr.h>
#include <spf2/spf_dns_zone.h>

#include "bg_log.h"

#define BG_DNS_MAX_SERVERS 4
#define BG_DNS_CACHE_SLOTS 512   /* hash buckets */
#define BG_DNS_CACHE_MAX 4096    /* entries before the cache is flushed */
#define BG_DNS_MAX_TTL 3600      /* seconds an answer is kept at most */
#define BG_DNS_MIN_TTL 30
#define BG_DNS_NEG_TTL 300       /* NXDOMAIN/NODATA without an SOA */
#define BG_DNS_NOLIMIT_MS 5000   /* per query when the budget is off */
#define BG_DNS_PKT_MAX 65535
#define BG_DNS_UDP_SIZE 4096     /* EDNS0 payload size we announce */

typedef struct bg_dns_entry {
    struct bg_dns_entry *next;
    int type;
    time_t expires;
    SPF_dns_rr_t *rr;
    char name[]; /* lower case */
} bg_dns_entry;

struct bg_dns {
    int zone;                       /* 1 = answers only from zone_layer */
    SPF_dns_server_t *zone_layer;
    long zone_latency_ms;
    SPF_dns_server_t layer;         /* what libspf2 calls */
    struct sockaddr_storage srv[BG_DNS_MAX_SERVERS];
    socklen_t srvlen[BG_DNS_MAX_SERVERS];
    int nsrv;
    bg_dns_entry *cache[BG_DNS_CACHE_SLOTS];
    size_t ncache;
    long long start_ms;             /* monotonic, at bg_dns_start */
    long budget_ms;                 /* <= 0: no overall limit */
    long sim_ms;                    /* simulated time spent (zone latency) */
    int failed;
    char failure[320];
    bg_dns_stats stats;
};

/* Monotonic milliseconds. */
static long long bg_dns_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long bg_dns_elapsed_ms(const bg_dns *d)
{
    if (!d)
        return 0;
    return (long)(bg_dns_now_ms() - d->start_ms) + d->sim_ms;
}

/* Milliseconds left of the budget (BG_DNS_NOLIMIT_MS when it is off). */
static long bg_dns_left_ms(const bg_dns *d)
{
    if (d->budget_ms <= 0)
        return BG_DNS_NOLIMIT_MS;
    return d->budget_ms - bg_dns_elapsed_ms(d);
}

static void bg_dns_fail(bg_dns *d, const char *fmt, const char *name)
{
    if (d->failed)
        return;
    d->failed = 1;
    snprintf(d->failure, sizeof d->failure, fmt, name);
}

void bg_dns_start(bg_dns *d, long budget_ms)
{
    if (!d)
        return;
    d->start_ms = bg_dns_now_ms();
    d->budget_ms = budget_ms;
    d->sim_ms = 0;
    d->failed = 0;
    d->failure[0] = '\0';
}

int bg_dns_failed(const bg_dns *d)
{
    return d ? d->failed : 1;
}

const char *bg_dns_failure(const bg_dns *d)
{
    return d ? d->failure : "no resolver";
}

void bg_dns_get_stats(const bg_dns *d, bg_dns_stats *out)
{
    if (d && out)
        *out = d->stats;
}

/* --- cache ------------------------------------------------------------ */

static size_t bg_dns_hash(const char *name, int type)
{
    size_t h = 1469598103934665603ull ^ (size_t)type;
    for (const char *p = name; *p; p++) {
        h ^= (unsigned char)tolower((unsigned char)*p);
        h *= 1099511628211ull;
    }
    return h % BG_DNS_CACHE_SLOTS;
}

void bg_dns_flush(bg_dns *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < BG_DNS_CACHE_SLOTS; i++) {
        bg_dns_entry *e = d->cache[i];
        while (e) {
            bg_dns_entry *n = e->next;
            SPF_dns_rr_free(e->rr);
            free(e);
            e = n;
        }
        d->cache[i] = NULL;
    }
    d->ncache = 0;
}

static bg_dns_entry *bg_dns_cache_find(bg_dns *d, const char *name, int type)
{
    size_t h = bg_dns_hash(name, type);
    time_t now = time(NULL);
    for (bg_dns_entry **pp = &d->cache[h]; *pp;) {
        bg_dns_entry *e = *pp;
        if (e->expires <= now) {
            *pp = e->next;
            SPF_dns_rr_free(e->rr);
            free(e);
            d->ncache--;
            continue;
        }
        if (e->type == type && strcasecmp(e->name, name) == 0)
            return e;
        pp = &e->next;
    }
    return NULL;
}

/* Keep a copy of rr for ttl seconds (clamped). */
static void bg_dns_cache_put(bg_dns *d, const char *name, int type, SPF_dns_rr_t *rr, long ttl)
{
    if (ttl < BG_DNS_MIN_TTL)
        ttl = BG_DNS_MIN_TTL;
    if (ttl > BG_DNS_MAX_TTL)
        ttl = BG_DNS_MAX_TTL;
    if (d->ncache >= BG_DNS_CACHE_MAX)
        bg_dns_flush(d);
    size_t n = strlen(name);
    bg_dns_entry *e = malloc(sizeof *e + n + 1);
    if (!e)
        return;
    e->rr = NULL;
    if (SPF_dns_rr_dup(&e->rr, rr) != SPF_E_SUCCESS || !e->rr) {
        SPF_dns_rr_free(e->rr);
        free(e);
        return;
    }
    for (size_t i = 0; i <= n; i++)
        e->name[i] = (char)tolower((unsigned char)name[i]);
    e->type = type;
    e->expires = time(NULL) + ttl;
    size_t h = bg_dns_hash(name, type);
    e->next = d->cache[h];
    d->cache[h] = e;
    d->ncache++;
}

/* --- wire ------------------------------------------------------------- */

/* Write a query for name/type into pkt; returns its length or -1. */
static int bg_dns_build_query(const char *name, int type, uint16_t id, unsigned char *pkt,
                              size_t cap)
{
    if (cap < 12 + 256 + 4 + 11)
        return -1;
    memset(pkt, 0, 12);
    pkt[0] = (unsigned char)(id >> 8);
    pkt[1] = (unsigned char)id;
    pkt[2] = 0x01; /* RD */
    pkt[5] = 1;    /* QDCOUNT */
    pkt[11] = 1;   /* ARCOUNT: the OPT record */
    size_t o = 12;
    const char *p = name;
    size_t total = 0;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63)
            return -1;
        total += l + 1;
        if (total > 253)
            return -1;
        pkt[o++] = (unsigned char)l;
        memcpy(pkt + o, p, l);
        o += l;
        p += l;
        if (*p == '.')
            p++;
    }
    pkt[o++] = 0;
    pkt[o++] = (unsigned char)(type >> 8);
    pkt[o++] = (unsigned char)type;
    pkt[o++] = 0;
    pkt[o++] = 1; /* IN */
    /* EDNS0 OPT: root name, type 41, class = UDP size, ttl 0, rdlen 0 */
    pkt[o++] = 0;
    pkt[o++] = 0;
    pkt[o++] = 41;
    pkt[o++] = (unsigned char)(BG_DNS_UDP_SIZE >> 8);
    pkt[o++] = (unsigned char)(BG_DNS_UDP_SIZE & 0xff);
    memset(pkt + o, 0, 6);
    o += 6;
    return (int)o;
}

/* Wait for fd to become ready for events within ms; 1 ready, 0 timeout, -1 error. */
static int bg_dns_wait(int fd, short events, long ms)
{
    if (ms <= 0)
        return 0;
    struct pollfd pfd = {.fd = fd, .events = events};
    for (;;) {
        int r = poll(&pfd, 1, (int)ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r;
        if (pfd.revents & (POLLERR | POLLNVAL) && !(pfd.revents & events))
            return -1;
        return 1;
    }
}

/* Does the reply answer our query (id, QR, same question)? */
static int bg_dns_matches(const unsigned char *q, int qlen, const unsigned char *r, int rlen)
{
    if (rlen < 12 || r[0] != q[0] || r[1] != q[1] || !(r[2] & 0x80))
        return 0;
    /* question section: from byte 12 up to the OPT record (11 bytes) */
    int qs = qlen - 11 - 12;
    if (rlen < 12 + qs || r[4] != 0 || r[5] != 1)
        return 0;
    for (int i = 0; i < qs; i++)
        if (tolower(q[12 + i]) != tolower(r[12 + i]))
            return 0;
    return 1;
}

/* Exchange over TCP with server i; returns the reply length, 0 timeout, -1 error. */
static int bg_dns_tcp(bg_dns *d, int i, const unsigned char *q, int qlen, unsigned char *r,
                      long ms)
{
    long long end = bg_dns_now_ms() + ms;
    int fd = socket(d->srv[i].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int ret = -1;
    if (connect(fd, (struct sockaddr *)&d->srv[i], d->srvlen[i]) < 0 && errno != EINPROGRESS)
        goto out;
    int w = bg_dns_wait(fd, POLLOUT, (long)(end - bg_dns_now_ms()));
    if (w <= 0) {
        ret = w;
        goto out;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr)
        goto out;
    unsigned char out[2 + 512];
    out[0] = (unsigned char)(qlen >> 8);
    out[1] = (unsigned char)qlen;
    memcpy(out + 2, q, (size_t)qlen);
    if (send(fd, out, (size_t)qlen + 2, MSG_NOSIGNAL) != qlen + 2)
        goto out;
    size_t got = 0, want = 2;
    unsigned char lenb[2];
    while (got < want) {
        w = bg_dns_wait(fd, POLLIN, (long)(end - bg_dns_now_ms()));
        if (w <= 0) {
            ret = w;
            goto out;
        }
        ssize_t n = want == 2 && got < 2 ? recv(fd, lenb + got, 2 - got, 0)
                                         : recv(fd, r + (got - 2), want - got, 0);
        if (n <= 0)
            goto out;
        got += (size_t)n;
        if (want == 2 && got == 2) {
            want = 2 + (((size_t)lenb[0] << 8) | lenb[1]);
            if (want < 2 + 12)
                goto out;
        }
    }
    ret = (int)(want - 2);
out:
    close(fd);
    return ret;
}

/* Send q to the servers until one answers; returns the reply length, or
 * -1 with d->failed set when none answered in time. */
static int bg_dns_exchange(bg_dns *d, const char *name, const unsigned char *q, int qlen,
                           unsigned char *r)
{
    int tries = d->nsrv * 2;
    int dead[BG_DNS_MAX_SERVERS] = {0};
    for (int t = 0; t < tries; t++) {
        int i = t % d->nsrv;
        if (dead[i])
            continue;
        long left = bg_dns_left_ms(d);
        if (left <= 0)
            break;
        long slice = left / (tries - t);
        if (slice < 300)
            slice = left < 300 ? left : 300;
        if (d->budget_ms <= 0)
            slice = BG_DNS_NOLIMIT_MS / 2;
        int fd = socket(d->srv[i].ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            dead[i] = 1;
            continue;
        }
        d->stats.queries++;
        if (connect(fd, (struct sockaddr *)&d->srv[i], d->srvlen[i]) < 0 ||
            send(fd, q, (size_t)qlen, 0) != qlen) {
            close(fd);
            dead[i] = 1;
            continue;
        }
        long long end = bg_dns_now_ms() + slice;
        int n = -1;
        for (;;) {
            int w = bg_dns_wait(fd, POLLIN, (long)(end - bg_dns_now_ms()));
            if (w <= 0) {
                if (w == 0)
                    d->stats.timeouts++;
                else
                    dead[i] = 1;
                break;
            }
            ssize_t got = recv(fd, r, BG_DNS_PKT_MAX, 0);
            if (got < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                dead[i] = 1; /* ECONNREFUSED: nothing listens there */
                break;
            }
            if (!bg_dns_matches(q, qlen, r, (int)got))
                continue; /* stray or spoofed datagram: keep waiting */
            n = (int)got;
            break;
        }
        close(fd);
        if (n < 0)
            continue;
        if (r[2] & 0x02) { /* TC: the answer needs TCP */
            int tn = bg_dns_tcp(d, i, q, qlen, r, bg_dns_left_ms(d));
            if (tn > 0 && bg_dns_matches(q, qlen, r, tn))
                return tn;
            continue;
        }
        return n;
    }
    if (bg_dns_left_ms(d) <= 0)
        bg_dns_fail(d, "DNS budget spent before the answer for %.200s", name);
    else
        bg_dns_fail(d, "no DNS server answered for %.200s", name);
    return -1;
}

/* Append one answer of length len to rr at index idx. */
static int bg_dns_rr_put(SPF_dns_rr_t *rr, int idx, const void *data, size_t len, int string)
{
    if (SPF_dns_rr_buf_realloc(rr, idx, len + 1) != SPF_E_SUCCESS)
        return -1;
    memcpy(rr->rr[idx], data, len);
    if (string)
        ((char *)rr->rr[idx])[len] = '\0';
    rr->num_rr = idx + 1;
    return 0;
}

/* Turn a reply into a record set; *ttl gets how long it may be cached. */
static SPF_dns_rr_t *bg_dns_parse(bg_dns *d, const char *name, int type, const unsigned char *r,
                                  int rlen, long *ttl)
{
    ns_msg h;
    *ttl = BG_DNS_NEG_TTL;
    if (ns_initparse(r, rlen, &h) < 0)
        return SPF_dns_rr_new_init(&d->layer, name, (ns_type)type, 0, TRY_AGAIN);
    int rcode = ns_msg_getflag(h, ns_f_rcode);
    if (rcode != ns_r_noerror && rcode != ns_r_nxdomain)
        return SPF_dns_rr_new_init(&d->layer, name, (ns_type)type, 0, TRY_AGAIN);
    /* negative answers live as long as the SOA minimum says */
    for (int i = 0; i < ns_msg_count(h, ns_s_ns); i++) {
        ns_rr rr;
        if (ns_parserr(&h, ns_s_ns, i, &rr) == 0 && ns_rr_type(rr) == ns_t_soa) {
            long t = (long)ns_rr_ttl(rr);
            if (ns_rr_rdlen(rr) >= 4) {
                const unsigned char *e = ns_rr_rdata(rr) + ns_rr_rdlen(rr) - 4;
                long mn = ((long)e[0] << 24) | (e[1] << 16) | (e[2] << 8) | e[3];
                if (mn < t)
                    t = mn;
            }
            *ttl = t;
        }
    }
    if (rcode == ns_r_nxdomain)
        return SPF_dns_rr_new_init(&d->layer, name, (ns_type)type, (int)*ttl, HOST_NOT_FOUND);

    SPF_dns_rr_t *out = SPF_dns_rr_new_init(&d->layer, name, (ns_type)type, 0, NO_DATA);
    if (!out)
        return NULL;
    long minttl = BG_DNS_MAX_TTL;
    int idx = 0;
    for (int i = 0; i < ns_msg_count(h, ns_s_an) && idx < 64; i++) {
        ns_rr rr;
        if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
            break;
        if ((int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in)
            continue;
        const unsigned char *rd = ns_rr_rdata(rr);
        int rdlen = ns_rr_rdlen(rr);
        char text[4096];
        int ok = -1;
        switch (type) {
        case ns_t_a:
            if (rdlen == 4)
                ok = bg_dns_rr_put(out, idx, rd, 4, 0);
            break;
        case ns_t_aaaa:
            if (rdlen == 16)
                ok = bg_dns_rr_put(out, idx, rd, 16, 0);
            break;
        case ns_t_txt: {
            size_t tl = 0;
            for (int o = 0; o < rdlen;) {
                int sl = rd[o++];
                if (o + sl > rdlen || tl + (size_t)sl >= sizeof text)
                    break;
                memcpy(text + tl, rd + o, (size_t)sl);
                tl += (size_t)sl;
                o += sl;
            }
            for (size_t k = 0; k < tl; k++)
                if (text[k] == '\0')
                    text[k] = ' ';
            ok = bg_dns_rr_put(out, idx, text, tl, 1);
            break;
        }
        case ns_t_ptr:
        case ns_t_mx: {
            const unsigned char *p = rd;
            if (type == ns_t_mx) {
                if (rdlen < 3)
                    break;
                p += 2;
            }
            if (dn_expand(ns_msg_base(h), ns_msg_end(h), p, text, sizeof text) < 0)
                break;
            ok = bg_dns_rr_put(out, idx, text, strlen(text), 1);
            break;
        }
        default:
            break;
        }
        if (ok == 0) {
            idx++;
            if ((long)ns_rr_ttl(rr) < minttl)
                minttl = (long)ns_rr_ttl(rr);
        }
    }
    if (idx > 0) {
        out->herrno = NETDB_SUCCESS;
        out->ttl = minttl;
        *ttl = minttl;
    }
    return out;
}

/* Ask the zone (simulating latency against the budget). */
static SPF_dns_rr_t *bg_dns_zone_query(bg_dns *d, const char *name, int type)
{
    d->stats.queries++;
    d->sim_ms += d->zone_latency_ms;
    if (d->budget_ms > 0 && bg_dns_elapsed_ms(d) > d->budget_ms) {
        d->stats.timeouts++;
        bg_dns_fail(d, "DNS budget spent before the answer for %.200s", name);
        return SPF_dns_rr_new_init(&d->layer, name, (ns_type)type, 0, TRY_AGAIN);
    }
    SPF_dns_rr_t *rr = d->zone_layer->lookup(d->zone_layer, name, (ns_type)type, 0);
    if (rr && rr->num_rr == 0 && rr->herrno == NETDB_SUCCESS)
        rr->herrno = NO_DATA;
    return rr;
}

SPF_dns_rr_t *bg_dns_lookup(bg_dns *d, const char *name, int qtype)
{
    if (!d || !name)
        return NULL;
    char qn[256];
    size_t n = strlen(name);
    while (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n >= sizeof qn)
        return SPF_dns_rr_new_init(d ? &d->layer : NULL, name, (ns_type)qtype, 0,
                                   HOST_NOT_FOUND);
    for (size_t i = 0; i < n; i++)
        qn[i] = (char)tolower((unsigned char)name[i]);
    qn[n] = '\0';

    bg_dns_entry *e = bg_dns_cache_find(d, qn, qtype);
    if (e) {
        d->stats.cache_hits++;
        SPF_dns_rr_t *dup = NULL;
        if (SPF_dns_rr_dup(&dup, e->rr) != SPF_E_SUCCESS) {
            SPF_dns_rr_free(dup);
            return NULL;
        }
        return dup;
    }
    if (d->failed || bg_dns_left_ms(d) <= 0) {
        bg_dns_fail(d, "DNS budget spent before the query for %.200s", qn);
        return SPF_dns_rr_new_init(&d->layer, qn, (ns_type)qtype, 0, TRY_AGAIN);
    }

    SPF_dns_rr_t *rr = NULL;
    long ttl = BG_DNS_NEG_TTL;
    if (d->zone) {
        rr = bg_dns_zone_query(d, qn, qtype);
        ttl = BG_DNS_MAX_TTL;
    } else {
        unsigned char q[512];
        uint16_t id = 0;
        if (getrandom(&id, sizeof id, GRND_NONBLOCK) != sizeof id)
            id = (uint16_t)(bg_dns_now_ms() ^ (long long)getpid());
        int qlen = bg_dns_build_query(qn, qtype, id, q, sizeof q);
        if (qlen < 0)
            return SPF_dns_rr_new_init(&d->layer, qn, (ns_type)qtype, 0, HOST_NOT_FOUND);
        unsigned char *r = malloc(BG_DNS_PKT_MAX);
        if (!r)
            return NULL;
        int rlen = bg_dns_exchange(d, qn, q, qlen, r);
        if (rlen > 0)
            rr = bg_dns_parse(d, qn, qtype, r, rlen, &ttl);
        else
            rr = SPF_dns_rr_new_init(&d->layer, qn, (ns_type)qtype, 0, TRY_AGAIN);
        free(r);
    }
    if (rr && rr->herrno != TRY_AGAIN)
        bg_dns_cache_put(d, qn, qtype, rr, ttl);
    return rr;
}

int bg_dns_txt(bg_dns *d, const char *name, char (*out)[512], int max, int *herrno)
{
    SPF_dns_rr_t *rr = bg_dns_lookup(d, name, ns_t_txt);
    if (!rr) {
        *herrno = TRY_AGAIN;
        return -1;
    }
    *herrno = rr->herrno;
    if (rr->herrno != NETDB_SUCCESS) {
        SPF_dns_rr_free(rr);
        return -1;
    }
    int k = 0;
    for (int i = 0; i < rr->num_rr && k < max; i++) {
        snprintf(out[k], sizeof out[k], "%s", rr->rr[i]->txt);
        k++;
    }
    SPF_dns_rr_free(rr);
    return k;
}

/* libspf2 calls this for every lookup of an SPF evaluation. */
static SPF_dns_rr_t *bg_dns_spf_lookup(SPF_dns_server_t *srv, const char *domain,
                                       ns_type rr_type, int should_cache)
{
    (void)should_cache;
    return bg_dns_lookup((bg_dns *)srv->hook, domain, rr_type);
}

SPF_dns_server_t *bg_dns_spf_layer(bg_dns *d)
{
    return d ? &d->layer : NULL;
}

static bg_dns *bg_dns_alloc(void)
{
    bg_dns *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->layer.lookup = bg_dns_spf_lookup;
    d->layer.name = "bounceguide";
    d->layer.hook = d;
    bg_dns_start(d, 0);
    return d;
}

/* Parse one server address ("IP", "IP:PORT", "[v6]:PORT") into slot i. */
static int bg_dns_add_server(bg_dns *d, const char *spec)
{
    if (d->nsrv >= BG_DNS_MAX_SERVERS)
        return 0;
    char host[128];
    int port = 53;
    snprintf(host, sizeof host, "%s", spec);
    if (host[0] == '[') {
        char *e = strchr(host, ']');
        if (!e)
            return -1;
        *e = '\0';
        if (e[1] == ':')
            port = atoi(e + 2);
        memmove(host, host + 1, strlen(host + 1) + 1);
    } else {
        char *c = strchr(host, ':');
        if (c && !strchr(c + 1, ':')) {
            *c = '\0';
            port = atoi(c + 1);
        }
    }
    if (port <= 0 || port > 65535)
        return -1;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&d->srv[d->nsrv];
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&d->srv[d->nsrv];
    memset(&d->srv[d->nsrv], 0, sizeof d->srv[d->nsrv]);
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        d->srvlen[d->nsrv++] = sizeof *s4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        d->srvlen[d->nsrv++] = sizeof *s6;
        return 0;
    }
    return -1;
}

/* The nameserver lines of /etc/resolv.conf (inside a network namespace,
 * `ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf over it). */
static void bg_dns_read_resolv_conf(bg_dns *d)
{
    FILE *f = fopen("/etc/resolv.conf", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            char addr[128];
            if (sscanf(line, " nameserver %127s", addr) == 1) {
                char *pct = strchr(addr, '%'); /* fe80::1%eth0: scope not supported */
                if (pct)
                    continue;
                if (bg_dns_add_server(d, addr) < 0)
                    bg_logf(BG_LOG_WARN, "dns: ignoring nameserver '%s'", addr);
            }
        }
        fclose(f);
    }
    if (d->nsrv == 0) /* the resolver's own default */
        bg_dns_add_server(d, "127.0.0.1");
}

bg_dns *bg_dns_new(const char *servers)
{
    bg_dns *d = bg_dns_alloc();
    if (!d)
        return NULL;
    if (servers && *servers) {
        char list[512];
        snprintf(list, sizeof list, "%s", servers);
        char *save = NULL;
        for (char *t = strtok_r(list, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save)) {
            if (bg_dns_add_server(d, t) < 0)
                bg_logf(BG_LOG_WARN, "dns: ignoring server '%s'", t);
        }
    } else {
        bg_dns_read_resolv_conf(d);
    }
    if (d->nsrv == 0) {
        bg_dns_free(d);
        return NULL;
    }
    return d;
}

bg_dns *bg_dns_new_zone(void)
{
    bg_dns *d = bg_dns_alloc();
    if (!d)
        return NULL;
    d->zone = 1;
    d->zone_layer = SPF_dns_zone_new(NULL, "bounceguide-zone", 0);
    if (!d->zone_layer) {
        free(d);
        return NULL;
    }
    return d;
}

int bg_dns_add_rr(bg_dns *d, const char *name, int qtype, const char *data)
{
    if (!d || !d->zone || !name || !data)
        return -1;
    switch (qtype) {
    case ns_t_a:
    case ns_t_aaaa:
    case ns_t_mx:
    case ns_t_txt:
    case ns_t_ptr:
        break;
    default:
        return -1;
    }
    if (SPF_dns_zone_add_str(d->zone_layer, name, (ns_type)qtype, NETDB_SUCCESS, data) !=
        SPF_E_SUCCESS)
        return -1;
    return 0;
}

int bg_dns_add(bg_dns *d, const char *name, const char *type, const char *data)
{
    static const struct {
        const char *name;
        int type;
    } types[] = {
        {"A", ns_t_a}, {"AAAA", ns_t_aaaa}, {"MX", ns_t_mx},
        {"TXT", ns_t_txt}, {"PTR", ns_t_ptr}, {NULL, 0},
    };
    for (int i = 0; type && types[i].name; i++)
        if (strcasecmp(type, types[i].name) == 0)
            return bg_dns_add_rr(d, name, types[i].type, data);
    return -1;
}

void bg_dns_set_zone_latency(bg_dns *d, long ms)
{
    if (d)
        d->zone_latency_ms = ms;
}

void bg_dns_free(bg_dns *d)
{
    if (!d)
        return;
    bg_dns_flush(d);
    if (d->zone_layer)
        SPF_dns_free(d->zone_layer);
    free(d);
}
