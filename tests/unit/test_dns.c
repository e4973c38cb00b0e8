/* Unit tests: bg_dns's own UDP client against a tiny DNS responder on
 * loopback (a thread of this test), a silent socket (the budget) and a
 * closed port (a stopped server). No network beyond 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bg_dns.h"

static int responder_fd = -1;
static int responder_port;

/* Read the query name (uncompressed labels) at q+12 into out. */
static int qname(const unsigned char *q, int len, char *out, size_t cap)
{
    int o = 12;
    size_t n = 0;
    while (o < len && q[o]) {
        int l = q[o++];
        if (n && n + 1 < cap)
            out[n++] = '.';
        for (int i = 0; i < l && o < len && n + 1 < cap; i++)
            out[n++] = (char)q[o++];
    }
    out[n] = '\0';
    return o + 1 + 4; /* end of the question */
}

/* Answers: spf.test TXT (two strings), a.test A, missing.test NXDOMAIN,
 * spoof.test gets a wrong-id datagram first. */
static void *responder(void *arg)
{
    (void)arg;
    unsigned char q[512], r[1024];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(responder_fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
        if (n <= 12)
            break;
        char name[256];
        int qend = qname(q, (int)n, name, sizeof name);
        memcpy(r, q, (size_t)qend);
        r[2] = 0x81;
        r[3] = 0x80;
        r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
        int o = qend;
        if (strcasecmp(name, "missing.test") == 0) {
            r[3] = 0x83; /* NXDOMAIN */
        } else if (strcasecmp(name, "big.test") == 0) {
            r[2] |= 0x02; /* TC: ask again over TCP */
        } else if (strcasecmp(name, "a.test") == 0) {
            static const unsigned char rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 7};
            memcpy(r + o, rr, sizeof rr);
            o += (int)sizeof rr;
            r[7] = 1;
        } else if (strcasecmp(name, "spf.test") == 0 || strcasecmp(name, "spoof.test") == 0) {
            static const unsigned char rr[] = {0xc0, 12, 0, 16, 0, 1, 0, 0, 1, 44, 0, 16,
                                               10, 'v', '=', 's', 'p', 'f', '1', ' ', 'i', 'p', '4',
                                               4, ':', '-', 'a', 'l'};
            memcpy(r + o, rr, sizeof rr);
            o += (int)sizeof rr;
            r[7] = 1;
            if (strcasecmp(name, "spoof.test") == 0) {
                unsigned char bad[1024];
                memcpy(bad, r, (size_t)o);
                bad[0] ^= 0xff;
                sendto(responder_fd, bad, (size_t)o, 0, (struct sockaddr *)&from, fl);
            }
        }
        sendto(responder_fd, r, (size_t)o, 0, (struct sockaddr *)&from, fl);
    }
    return NULL;
}

/* The TCP side of the responder on the same port: big.test gets a TXT
 * record of 600 bytes (three strings). One connection, then it ends. */
static int tcp_fd = -1;

static void *tcp_responder(void *arg)
{
    (void)arg;
    int c = accept(tcp_fd, NULL, NULL);
    if (c < 0)
        return NULL;
    unsigned char lenb[2], q[512], r[1024];
    if (recv(c, lenb, 2, MSG_WAITALL) != 2) {
        close(c);
        return NULL;
    }
    int ql = (lenb[0] << 8) | lenb[1];
    if (ql > (int)sizeof q || recv(c, q, (size_t)ql, MSG_WAITALL) != ql) {
        close(c);
        return NULL;
    }
    char name[256];
    int qend = qname(q, ql, name, sizeof name);
    memcpy(r + 2, q, (size_t)qend);
    unsigned char *h = r + 2;
    h[2] = 0x81;
    h[3] = 0x80;
    h[6] = h[8] = h[9] = h[10] = h[11] = 0;
    h[7] = 1;
    int o = qend;
    static const unsigned char rrh[] = {0xc0, 12, 0, 16, 0, 1, 0, 0, 1, 44};
    memcpy(h + o, rrh, sizeof rrh);
    o += (int)sizeof rrh;
    int rdlen = 3 * 201;
    h[o++] = (unsigned char)(rdlen >> 8);
    h[o++] = (unsigned char)rdlen;
    for (int k = 0; k < 3; k++) {
        h[o++] = 200;
        memset(h + o, 'a' + k, 200);
        o += 200;
    }
    r[0] = (unsigned char)(o >> 8);
    r[1] = (unsigned char)o;
    send(c, r, (size_t)o + 2, 0);
    close(c);
    return NULL;
}

/* A UDP socket on 127.0.0.1; returns its port. */
static int udp_socket(int *fd)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(*fd >= 0);
    assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    getsockname(*fd, (struct sockaddr *)&a, &l);
    return ntohs(a.sin_port);
}

static void dns_answers(void **state)
{
    (void)state;
    pthread_t t, tt;
    responder_port = udp_socket(&responder_fd);
    assert_int_equal(pthread_create(&t, NULL, responder, NULL), 0);
    struct sockaddr_in ta = {.sin_family = AF_INET, .sin_port = htons((uint16_t)responder_port)};
    ta.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    tcp_fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    assert_int_equal(bind(tcp_fd, (struct sockaddr *)&ta, sizeof ta), 0);
    assert_int_equal(listen(tcp_fd, 1), 0);
    assert_int_equal(pthread_create(&tt, NULL, tcp_responder, NULL), 0);
    char srv[64];
    snprintf(srv, sizeof srv, "127.0.0.1:%d", responder_port);
    bg_dns *d = bg_dns_new(srv);
    assert_non_null(d);
    bg_dns_start(d, 2000);

    char txt[4][512];
    int herr = 0;
    assert_int_equal(bg_dns_txt(d, "SPF.test.", txt, 4, &herr), 1);
    assert_string_equal(txt[0], "v=spf1 ip4:-al"); /* two strings joined */
    SPF_dns_rr_t *rr = bg_dns_lookup(d, "a.test", ns_t_a);
    assert_non_null(rr);
    assert_int_equal(rr->herrno, NETDB_SUCCESS);
    assert_int_equal(rr->num_rr, 1);
    assert_int_equal(ntohl(rr->rr[0]->a.s_addr), 0xc0000207);
    SPF_dns_rr_free(rr);
    rr = bg_dns_lookup(d, "missing.test", ns_t_txt);
    assert_int_equal(rr->herrno, HOST_NOT_FOUND);
    SPF_dns_rr_free(rr);
    rr = bg_dns_lookup(d, "a.test", ns_t_txt); /* exists, no TXT */
    assert_int_equal(rr->herrno, NO_DATA);
    SPF_dns_rr_free(rr);
    assert_int_equal(bg_dns_txt(d, "spoof.test", txt, 4, &herr), 1);
    /* truncated over UDP: the answer comes over TCP */
    rr = bg_dns_lookup(d, "big.test", ns_t_txt);
    assert_int_equal(rr->herrno, NETDB_SUCCESS);
    assert_int_equal(rr->num_rr, 1);
    assert_int_equal(strlen(rr->rr[0]->txt), 600);
    assert_int_equal(rr->rr[0]->txt[0], 'a');
    assert_int_equal(rr->rr[0]->txt[599], 'c');
    SPF_dns_rr_free(rr);
    pthread_join(tt, NULL);
    close(tcp_fd);

    bg_dns_stats s1, s2;
    bg_dns_get_stats(d, &s1);
    assert_int_equal(bg_dns_txt(d, "spf.test", txt, 4, &herr), 1);
    rr = bg_dns_lookup(d, "missing.test", ns_t_txt); /* negative answers are cached too */
    SPF_dns_rr_free(rr);
    bg_dns_get_stats(d, &s2);
    assert_int_equal(s2.queries, s1.queries);
    assert_int_equal(s2.cache_hits, s1.cache_hits + 2);
    assert_false(bg_dns_failed(d));
    bg_dns_free(d);
    /* the responder returns on a datagram of 12 bytes or less: it ends by
     * itself. Not pthread_cancel: a thread cancelled inside recvfrom leaves
     * its frames' ASan redzones poisoned, and ASan's own thread teardown
     * then reported a stack-buffer-overflow (about half the unit-asan runs) */
    int wake = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ra = {.sin_family = AF_INET, .sin_port = htons((uint16_t)responder_port)};
    ra.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(sendto(wake, "x", 1, 0, (struct sockaddr *)&ra, sizeof ra), 1);
    close(wake);
    pthread_join(t, NULL);
    close(responder_fd);
}

/* A server that never answers: the budget bounds the wait. */
static void dns_silent_server(void **state)
{
    (void)state;
    int fd;
    int port = udp_socket(&fd);
    char srv[64];
    snprintf(srv, sizeof srv, "127.0.0.1:%d", port);
    bg_dns *d = bg_dns_new(srv);
    bg_dns_start(d, 300);
    SPF_dns_rr_t *rr = bg_dns_lookup(d, "spf.test", ns_t_txt);
    long ms = bg_dns_elapsed_ms(d);
    print_message("silent server: %ld ms, %s\n", ms, bg_dns_failure(d));
    assert_int_equal(rr->herrno, TRY_AGAIN);
    SPF_dns_rr_free(rr);
    assert_true(ms >= 250 && ms <= 450);
    assert_true(bg_dns_failed(d));
    /* once failed, further lookups do not wait again */
    rr = bg_dns_lookup(d, "other.test", ns_t_txt);
    assert_int_equal(rr->herrno, TRY_AGAIN);
    SPF_dns_rr_free(rr);
    assert_true(bg_dns_elapsed_ms(d) <= 460);
    bg_dns_free(d);
    close(fd);
}

/* Nothing listens (a stopped server): the ICMP error ends it at once. */
static void dns_stopped_server(void **state)
{
    (void)state;
    int fd;
    int port = udp_socket(&fd);
    close(fd);
    char srv[64];
    snprintf(srv, sizeof srv, "127.0.0.1:%d", port);
    bg_dns *d = bg_dns_new(srv);
    bg_dns_start(d, 2000);
    SPF_dns_rr_t *rr = bg_dns_lookup(d, "spf.test", ns_t_txt);
    assert_int_equal(rr->herrno, TRY_AGAIN);
    SPF_dns_rr_free(rr);
    assert_true(bg_dns_failed(d));
    assert_non_null(strstr(bg_dns_failure(d), "no DNS server answered"));
    assert_true(bg_dns_elapsed_ms(d) < 200);
    bg_dns_free(d);
}

static void dns_bad_input(void **state)
{
    (void)state;
    assert_null(bg_dns_new("not-an-address"));
    bg_dns *d = bg_dns_new("127.0.0.1:1, [::1]:53");
    assert_non_null(d);
    bg_dns_start(d, 100);
    char label[80];
    memset(label, 'a', sizeof label - 1);
    label[sizeof label - 1] = '\0';
    SPF_dns_rr_t *rr = bg_dns_lookup(d, label, ns_t_txt); /* label over 63: not sent */
    assert_int_equal(rr->herrno, HOST_NOT_FOUND);
    SPF_dns_rr_free(rr);
    assert_int_equal(bg_dns_add(d, "x.test", "TXT", "y"), -1); /* not a zone */
    bg_dns_free(d);
    bg_dns *z = bg_dns_new_zone();
    assert_int_equal(bg_dns_add(z, "x.test", "SOA", "y"), -1);
    bg_dns_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dns_answers),
        cmocka_unit_test(dns_silent_server),
        cmocka_unit_test(dns_stopped_server),
        cmocka_unit_test(dns_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
