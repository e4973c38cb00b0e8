/* bg_category: the failure categories of docs/taxonomy.md as one table.
 *
 * The rows follow the taxonomy's order and ids exactly; the table ends with a
 * sentinel row. "transient" marks the causes that usually heal by themselves
 * (a retry later may succeed); "failure" is 0 for what is not a failed
 * delivery (complaint, auto-reply, delivered). The pseudo-category
 * "not-a-bounce" is kept outside the table (it is not part of the taxonomy)
 * but bg_category_find knows it: classify reports it for messages that are
 * no report at all.
 */
#include "bg_category.h"

#include <string.h>

const bg_category bg_categories[] = {
    {"unknown-user", "the mailbox does not exist", BG_ACTS_SENDER, BG_SUP_ADDRESS, 0, 1},
    {"unknown-domain", "recipient domain does not exist or takes no mail", BG_ACTS_SENDER,
     BG_SUP_DOMAIN, 0, 1},
    {"bad-address-syntax", "the address is malformed", BG_ACTS_SENDER, BG_SUP_ADDRESS, 0, 1},
    {"mailbox-disabled", "account exists but is disabled, inactive or closed", BG_ACTS_SENDER,
     BG_SUP_ADDRESS, 0, 1},
    {"mailbox-moved", "the person moved; a new address may be given", BG_ACTS_SENDER,
     BG_SUP_ADDRESS, 0, 1},
    {"recipient-suppressed",
     "the receiving side itself suppresses this address (unsubscribed, earlier hard bounce)",
     BG_ACTS_SENDER, BG_SUP_ADDRESS, 0, 1},
    /* a complaint is no failed delivery, but the address must not be mailed again */
    {"complaint", "the recipient reported the mail as spam (ARF feedback report)",
     BG_ACTS_SENDER, BG_SUP_ADDRESS, 0, 0},
    /* the recipient asked this sending domain to stop (List-Unsubscribe,
     * a list manager's import): no failure, but never mail them again */
    {"unsubscribed",
     "the recipient asked not to get mail from this sending domain (List-Unsubscribe request, "
     "import from a list manager)",
     BG_ACTS_SENDER, BG_SUP_ADDRESS, 0, 0},
    /* our own refusal: reported to the sender, never recorded over the row
     * that caused it */
    {"suppressed-here",
     "our own server refused: the address is on this server's suppression list for the "
     "sending domain",
     BG_ACTS_SENDER, BG_SUP_NONE, 0, 1},
    {"mailbox-full", "over quota", BG_ACTS_RECIPIENT, BG_SUP_COUNT, 1, 1},
    {"message-too-large", "message exceeds a size limit", BG_ACTS_SENDER, BG_SUP_NONE, 0, 1},
    {"content-rejected", "content judged spam or unwanted", BG_ACTS_SENDER, BG_SUP_NONE, 0, 1},
    {"virus-detected", "malware or a forbidden attachment", BG_ACTS_SENDER, BG_SUP_NONE, 0, 1},
    {"malformed-message",
     "message breaks the format rules (headers, encoding, bare LF, 8-bit/UTF-8 not supported)",
     BG_ACTS_ADMIN, BG_SUP_NONE, 0, 1},
    {"spf-failure", "SPF does not authorise the sending host", BG_ACTS_ADMIN, BG_SUP_NONE, 0, 1},
    {"dkim-failure", "DKIM missing or failing", BG_ACTS_ADMIN, BG_SUP_NONE, 0, 1},
    {"dmarc-failure", "DMARC failed (alignment or policy)", BG_ACTS_ADMIN, BG_SUP_NONE, 0, 1},
    {"reverse-dns-failure", "sending IP has no or a mismatching PTR", BG_ACTS_ADMIN, BG_SUP_NONE,
     0, 1},
    {"sender-blocklisted", "sending IP or domain listed or of poor reputation", BG_ACTS_ADMIN,
     BG_SUP_NONE, 0, 1},
    {"sender-rejected", "the envelope sender or From address itself is refused", BG_ACTS_ADMIN,
     BG_SUP_NONE, 0, 1},
    {"policy-rejected",
     "the recipient organisation's policy refuses it (internal-only groups, restrictions)",
     BG_ACTS_SENDER, BG_SUP_NONE, 0, 1},
    {"relay-denied", "a server refused to relay for us", BG_ACTS_ADMIN, BG_SUP_NONE, 0, 1},
    {"auth-required", "our server must (or failed to) authenticate to the next hop",
     BG_ACTS_ADMIN, BG_SUP_NONE, 0, 1},
    {"tls-required", "encryption demanded, or TLS/DANE/MTA-STS failed", BG_ACTS_ADMIN,
     BG_SUP_NONE, 0, 1},
    {"rate-limited", "too many messages, recipients or connections; our own sending quota",
     BG_ACTS_NOBODY, BG_SUP_NONE, 1, 1},
    {"greylisted", "temporary refusal of an unknown sender, retried automatically",
     BG_ACTS_NOBODY, BG_SUP_NONE, 1, 1},
    {"remote-server-error", "the receiving system failed (disk, queue, software)",
     BG_ACTS_NOBODY, BG_SUP_NONE, 1, 1},
    {"network-error",
     "could not reach the receiving host (refused, timeout, no answer, temporary DNS)",
     BG_ACTS_NOBODY, BG_SUP_NONE, 1, 1},
    {"routing-loop", "mail loops between servers", BG_ACTS_ADMIN, BG_SUP_NONE, 0, 1},
    {"protocol-error", "SMTP command or syntax error between servers", BG_ACTS_ADMIN,
     BG_SUP_NONE, 0, 1},
    {"expired", "the server gave up retrying", BG_ACTS_NOBODY, BG_SUP_COUNT, 1, 1},
    {"auto-reply", "not a failure: vacation or auto-responder", BG_ACTS_NOBODY, BG_SUP_NONE, 0,
     0},
    {"delivered", "not a failure: success or relay DSN", BG_ACTS_NOBODY, BG_SUP_NONE, 0, 0},
    {"unknown", "nothing above fits", BG_ACTS_ADMIN, BG_SUP_NONE, 0, 1},
    {NULL, NULL, BG_ACTS_NOBODY, BG_SUP_NONE, 0, 0},
};

/* Not in the taxonomy: what classify says about a message that is no report. */
const bg_category bg_category_not_bounce = {
    "not-a-bounce", "not a bounce, delay warning, feedback report or auto-reply",
    BG_ACTS_NOBODY, BG_SUP_NONE, 0, 0};

static const struct {
    bg_suppress value;
    const char *name;
} bg_suppress_names[] = {
    {BG_SUP_NONE, "none"},
    {BG_SUP_COUNT, "count"},
    {BG_SUP_ADDRESS, "address"},
    {BG_SUP_DOMAIN, "domain"},
    {BG_SUP_NONE, NULL},
};

static const struct {
    bg_acts value;
    const char *name;
} bg_acts_names[] = {
    {BG_ACTS_SENDER, "sender"},
    {BG_ACTS_ADMIN, "admin"},
    {BG_ACTS_RECIPIENT, "recipient"},
    {BG_ACTS_NOBODY, "nobody"},
    {BG_ACTS_NOBODY, NULL},
};

/* Linear lookup: 34 rows, called once per rule at load time. */
const bg_category *bg_category_find(const char *id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; bg_categories[i].id; i++)
        if (strcmp(bg_categories[i].id, id) == 0)
            return &bg_categories[i];
    if (strcmp(id, bg_category_not_bounce.id) == 0)
        return &bg_category_not_bounce;
    return NULL;
}

/* The taxonomy rows (without the sentinel and without "not-a-bounce"). */
const bg_category *bg_category_table(size_t *n)
{
    if (n)
        *n = sizeof bg_categories / sizeof bg_categories[0] - 1;
    return bg_categories;
}

/* The fallback row: the last real row of the table. */
const bg_category *bg_category_unknown(void)
{
    return &bg_categories[sizeof bg_categories / sizeof bg_categories[0] - 2];
}

/* Name of a suppression decision; "none" for an unknown value. */
const char *bg_suppress_name(bg_suppress s)
{
    for (size_t i = 0; bg_suppress_names[i].name; i++)
        if (bg_suppress_names[i].value == s)
            return bg_suppress_names[i].name;
    return "none";
}

/* Name of who acts; "nobody" for an unknown value. */
const char *bg_acts_name(bg_acts a)
{
    for (size_t i = 0; bg_acts_names[i].name; i++)
        if (bg_acts_names[i].value == a)
            return bg_acts_names[i].name;
    return "nobody";
}

/* A suppression name back to its value, -1 when unknown. */
int bg_suppress_parse(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; bg_suppress_names[i].name; i++)
        if (strcmp(bg_suppress_names[i].name, name) == 0)
            return (int)bg_suppress_names[i].value;
    return -1;
}
