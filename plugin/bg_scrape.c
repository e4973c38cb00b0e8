/* bg_scrape: placeholder until the scraper lands (owned by the scraper work). */
#include "bg_scrape.h"

size_t bg_scrape(bg_bounce *b, const bg_scrape_input *in)
{
    (void)b;
    (void)in;
    return 0;
}
