/* bg_time: dates as mail writes them, to unix seconds.
 *
 * The one date parser of the core: RFC 5322 dates ("Mon, 23 Nov 2026
 * 09:15:00 +0000", day name and seconds optional, obsolete zones UT, GMT,
 * EST ... and "(comments)" allowed), ISO 8601 ("2026-11-23T09:15:00Z",
 * "+01:00" offsets) and "YYYY-MM-DD[ HH:MM:SS]" (taken as UTC). Pure
 * arithmetic: no locale, no TZ, no strptime. bg_store's own parser can
 * call it (it accepts a superset of bg_store_parse_time's formats).
 */
#ifndef BG_TIME_H
#define BG_TIME_H

/* Parse s into *out (unix seconds, UTC). 0 on success, -1 when s is not
 * one of the forms above or names an impossible date. */
int bg_time_parse(const char *s, long long *out);

/* Unix seconds from a civil UTC date (proleptic Gregorian). */
long long bg_time_from_civil(int year, int month, int day, int hour, int min, int sec);

#endif
