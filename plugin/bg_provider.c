/* bg_provider: the operators of receiving mail servers, as data.
 *
 * A delivery is counted under the operator of the MX host it went to
 * (Exim's $host at the transport event): a company domain on Google
 * Workspace goes to Google like gmail.com, one on Microsoft 365 to
 * Microsoft like outlook.com. Host names are matched by suffix on a label
 * boundary ("aspmx.l.google.com" ends in ".google.com"). When the event
 * has no host (a connection that never opened, a complaint), the
 * recipient's domain is looked up among the operators' own consumer
 * domains. Mail through a smarthost has the smarthost as its host: it
 * counts as "other" (the operator behind it is not known here).
 *
 * Sources, as each operator documents the MX names its customers publish
 * (read 2026-12; the host names of the consumer domains are what their
 * DNS answered when the page was written, not checked from here):
 *   Google: support.google.com/a/answer/174125 "Google Workspace MX
 *     record values" -- smtp.google.com (since 2023), ASPMX.L.GOOGLE.COM
 *     and ALT1..ALT4.ASPMX.L.GOOGLE.COM (older domains); gmail.com's own
 *     MX are gmail-smtp-in.l.google.com and altN.
 *   Microsoft: learn.microsoft.com "Add DNS records to connect your
 *     domain" (Microsoft 365) -- <domain-key>.mail.protection.outlook.com;
 *     outlook.com/hotmail.com: *.olc.protection.outlook.com.
 *   Yahoo: yahoo.com (mta5/6/7.am0.yahoodns.net), aol.com
 *     (mx-aol.mail.gm0.yahoodns.net) and the domains Yahoo hosts for ISPs
 *     (att.net, sbcglobal.net, ...) answer with *.yahoodns.net.
 *   Apple: support.apple.com "Custom email domain" for iCloud+ --
 *     mx01.mail.icloud.com, mx02.mail.icloud.com; icloud.com, me.com,
 *     mac.com the same.
 *   Proton: proton.me/support/custom-domain -- mail.protonmail.ch,
 *     mailsec.protonmail.ch.
 *   Zoho: zoho.com/mail/help/adminconsole/configure-email-delivery.html --
 *     mx.zoho.com, mx2/mx3 (.eu, .in, .com.au per region).
 *   Fastmail: fastmail.help "DNS records" -- in1-smtp.messagingengine.com,
 *     in2-smtp.
 *   United Internet (GMX, WEB.DE, IONOS): mx00/mx01.gmx.net,
 *     mx-ha02.web.de, mx00.ionos.de (and .com, .co.uk), mx.kundenserver.de.
 *   Yandex: mx.yandex.net, mx.yandex.ru; Mail.ru: mxs.mail.ru.
 *   Filtering services (they answer for many companies; their customers'
 *   real mailboxes are behind them): Mimecast *.mimecast.com,
 *   Proofpoint *.pphosted.com and Proofpoint Essentials *.ppe-hosted.com,
 *   Cisco Secure Email *.iphmx.com, Barracuda *.barracudanetworks.com.
 */
#include "bg_provider.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The operators, in report order; "other" and "unknown" end it. */
static const bg_provider bg_providers[] = {
    {"google", "Google (Gmail, Workspace)"},
    {"microsoft", "Microsoft (Outlook.com, Microsoft 365)"},
    {"yahoo", "Yahoo (Yahoo, AOL, hosted ISPs)"},
    {"apple", "Apple (iCloud)"},
    {"proton", "Proton"},
    {"zoho", "Zoho"},
    {"fastmail", "Fastmail"},
    {"united-internet", "United Internet (GMX, WEB.DE, IONOS)"},
    {"yandex", "Yandex"},
    {"mailru", "Mail.ru"},
    {"mimecast", "Mimecast (filter)"},
    {"proofpoint", "Proofpoint (filter)"},
    {"cisco", "Cisco Secure Email (filter)"},
    {"barracuda", "Barracuda (filter)"},
    {"other", "other"},
    {"unknown", "unknown (no host)"},
    {NULL, NULL},
};

/* MX host name suffixes (a whole name or a parent of it). */
static const struct {
    const char *suffix;
    const char *id;
} bg_provider_mx[] = {
    {"google.com", "google"},
    {"googlemail.com", "google"},
    {"protection.outlook.com", "microsoft"},
    {"outlook.com", "microsoft"},
    {"hotmail.com", "microsoft"},
    {"yahoodns.net", "yahoo"},
    {"mail.icloud.com", "apple"},
    {"protonmail.ch", "proton"},
    {"zoho.com", "zoho"},
    {"zoho.eu", "zoho"},
    {"zoho.in", "zoho"},
    {"zoho.com.au", "zoho"},
    {"messagingengine.com", "fastmail"},
    {"gmx.net", "united-internet"},
    {"web.de", "united-internet"},
    {"ionos.de", "united-internet"},
    {"ionos.com", "united-internet"},
    {"ionos.co.uk", "united-internet"},
    {"kundenserver.de", "united-internet"},
    {"yandex.net", "yandex"},
    {"yandex.ru", "yandex"},
    {"mail.ru", "mailru"},
    {"mimecast.com", "mimecast"},
    {"pphosted.com", "proofpoint"},
    {"ppe-hosted.com", "proofpoint"},
    {"iphmx.com", "cisco"},
    {"barracudanetworks.com", "barracuda"},
    {NULL, NULL},
};

/* The operators' own consumer domains (for events without a host). */
static const struct {
    const char *domain;
    const char *id;
} bg_provider_domains[] = {
    {"gmail.com", "google"},
    {"googlemail.com", "google"},
    {"outlook.com", "microsoft"},
    {"hotmail.com", "microsoft"},
    {"live.com", "microsoft"},
    {"msn.com", "microsoft"},
    {"yahoo.com", "yahoo"},
    {"ymail.com", "yahoo"},
    {"rocketmail.com", "yahoo"},
    {"aol.com", "yahoo"},
    {"icloud.com", "apple"},
    {"me.com", "apple"},
    {"mac.com", "apple"},
    {"proton.me", "proton"},
    {"protonmail.com", "proton"},
    {"zohomail.com", "zoho"},
    {"fastmail.com", "fastmail"},
    {"gmx.net", "united-internet"},
    {"gmx.de", "united-internet"},
    {"web.de", "united-internet"},
    {"yandex.ru", "yandex"},
    {"mail.ru", "mailru"},
    {NULL, NULL},
};

const bg_provider *bg_provider_by_id(const char *id)
{
    for (int i = 0; id && bg_providers[i].id; i++)
        if (strcmp(bg_providers[i].id, id) == 0)
            return &bg_providers[i];
    return NULL;
}

const bg_provider *bg_provider_at(int i)
{
    if (i < 0 || i >= (int)(sizeof bg_providers / sizeof bg_providers[0]) - 1)
        return NULL;
    return &bg_providers[i];
}

/* name lower-cased without a trailing dot into out; its length, 0 when
 * empty or too long. */
static size_t bg_provider_norm(const char *name, char *out, size_t outsz)
{
    size_t n = 0;
    for (; name && name[n]; n++) {
        if (n + 1 >= outsz)
            return 0;
        out[n] = (char)tolower((unsigned char)name[n]);
    }
    if (n && out[n - 1] == '.')
        n--;
    out[n] = '\0';
    return n;
}

/* 1 when name is suffix or ends in "." suffix. */
static int bg_provider_under(const char *name, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    if (n < k || strcmp(name + n - k, suffix) != 0)
        return 0;
    return n == k || name[n - k - 1] == '.';
}

const bg_provider *bg_provider_find(const char *host, const char *rcpt_domain)
{
    char h[256];
    size_t n = bg_provider_norm(host, h, sizeof h);
    if (n) {
        for (int i = 0; bg_provider_mx[i].suffix; i++)
            if (bg_provider_under(h, n, bg_provider_mx[i].suffix))
                return bg_provider_by_id(bg_provider_mx[i].id);
    }
    char d[256];
    if (bg_provider_norm(rcpt_domain, d, sizeof d)) {
        for (int i = 0; bg_provider_domains[i].domain; i++)
            if (strcmp(d, bg_provider_domains[i].domain) == 0)
                return bg_provider_by_id(bg_provider_domains[i].id);
    }
    return bg_provider_by_id(n ? "other" : "unknown");
}
