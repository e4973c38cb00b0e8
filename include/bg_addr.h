/* bg_addr: e-mail addresses in remote text, the one address helper.
 *
 * Three readings: the address of a header or DSN field value
 * (bg_addr_extract: "Name <a@b>", "rfc822; a@b"), an address starting at
 * a point of running text (bg_addr_at) and the first one within a span
 * (bg_addr_find), both for the plain-text scraper; and the domain of an
 * address. Bounded: local part 64, domain 255, nothing read past end.
 */
#ifndef BG_ADDR_H
#define BG_ADDR_H

#include <stddef.h>

#define BG_ADDR_MAX 320 /* RFC 5321 local part 64 + @ + domain 255 */

/* The bare address in a header or DSN value: "Name <a@b>", "rfc822; a@b",
 * "<a@b>", "a@b (comment)", "utf-8; a@b". Quotes and angle brackets
 * removed, trailing punctuation dropped. "" when there is none. Returns the
 * length written. */
size_t bg_addr_extract(const char *in, size_t len, char *out, size_t outlen);

/* Length of an address at p (local@domain.tld) before end, copied with a
 * lower-cased domain into out; 0 when p does not start an address. */
size_t bg_addr_at(const char *p, const char *end, char out[BG_ADDR_MAX]);

/* The first address within [p, end): its start via *at, its length
 * returned (0 and out = "" when there is none). */
size_t bg_addr_find(const char *p, const char *end, char out[BG_ADDR_MAX], const char **at);

/* The domain of an address ("" when it has no '@'). */
const char *bg_addr_domain(const char *addr);

#endif
