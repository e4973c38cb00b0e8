#!/usr/bin/env python3
"""The rendered HTML part on a phone, in headless Chromium (tests/golden/chromium.py).

  phone.py check DIR [--width 375 --height 667]
      Every DIR/*.eml (phone-samples: LANG-CATEGORY-{failed,delayed}.eml)
      is laid out at 375 x 667 CSS px (an iPhone SE/8 screen) in Roboto,
      Android's font (iOS's is of the same width; the check refuses to run
      on a fallback font, whose widths would measure something else). It
      fails when a recipient's sender part (the card #bg-r1) is taller
      than the screen, when the page scrolls sideways, or when the
      administrator's section (#bg-admin) does not come after every sender
      part. Prints the tallest card per language.
  phone.py shot EML PREFIX
      PREFIX-375.png: the first screen on a phone (375 x 667), and
      PREFIX-1200.png: the whole page 1200 px wide.
"""

import glob
import os
import sys
import tempfile
from email import policy
from email.parser import BytesParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chromium  # noqa: E402

MEASURE = r"""(function () {
  var cards = [].slice.call(document.querySelectorAll('[id^="bg-r"]'));
  var admin = document.getElementById('bg-admin');
  var top = function (e) { return e.getBoundingClientRect().top + window.scrollY; };
  var last = 0;
  cards.forEach(function (c) { last = Math.max(last, top(c) + c.getBoundingClientRect().height); });
  return {
    width: document.documentElement.scrollWidth,
    cards: cards.map(function (c) { return Math.ceil(c.getBoundingClientRect().height); }),
    first_bottom: cards.length ? Math.ceil(top(cards[0]) + cards[0].getBoundingClientRect().height) : 0,
    admin_after: admin ? top(admin) >= last : false,
    lang: document.documentElement.lang
  };
})()"""

# Roboto is there when a string set in it is not as wide as in the fallback.
FONT_CHECK = r"""(function () {
  var c = document.createElement('canvas').getContext('2d');
  var s = 'Your message couldn\'t be delivered: WWWiii';
  c.font = '15px monospace'; var mono = c.measureText(s).width;
  c.font = '15px Roboto, monospace'; var rob = c.measureText(s).width;
  return mono !== rob;
})()"""


def html_of(path):
    with open(path, "rb") as f:
        msg = BytesParser(policy=policy.default).parse(f)
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            return part.get_content()
    raise SystemExit("%s: no text/html part" % path)


def check(directory, width, height):
    files = sorted(glob.glob(os.path.join(directory, "*.eml")))
    if not files:
        raise SystemExit("phone check: no .eml in %s" % directory)
    worst, bad = {}, []
    tmp = tempfile.mkdtemp(prefix="bg-phone-")
    with chromium.Chromium() as c:
        c.open("about:blank", width, height)
        if not c.evaluate(FONT_CHECK):
            raise SystemExit("phone check: the Roboto font is missing (Debian's "
                             "fonts-roboto-unhinted); a fallback font would measure other widths")
        for path in files:
            name = os.path.basename(path)[:-4]
            page = os.path.join(tmp, name + ".html")
            with open(page, "w", encoding="utf-8") as f:
                f.write(html_of(path))
            c.open("file://" + page, width, height)
            m = c.evaluate(MEASURE)
            lang = name.split("-", 1)[0]
            h = max(m["cards"] or [0])
            if h > worst.get(lang, (0, ""))[0]:
                worst[lang] = (h, name)
            if not m["cards"]:
                bad.append("%s: no sender part (#bg-r1)" % name)
            if h > height:
                bad.append("%s: sender part %d px tall, the screen is %d" % (name, h, height))
            if m["width"] > width:
                bad.append("%s: the page is %d px wide at %d (scrolls sideways)"
                           % (name, m["width"], width))
            if not m["admin_after"]:
                bad.append("%s: the administrator's section is not after the sender parts" % name)
            if m["lang"] != lang:
                bad.append("%s: <html lang=%r>, expected %r" % (name, m["lang"], lang))
            os.unlink(page)
    os.rmdir(tmp)
    for lang in sorted(worst):
        print("phone check: %s: tallest sender part %d px of %d (%s)"
              % (lang, worst[lang][0], height, worst[lang][1]))
    for b in bad:
        print("phone check: FAIL " + b)
    print("phone check: %d bounces at %dx%d, %d problems" % (len(files), width, height, len(bad)))
    return 1 if bad else 0


def shot(eml, prefix, height=667):
    tmp = tempfile.mkdtemp(prefix="bg-shot-")
    page = os.path.join(tmp, "bounce.html")
    with open(page, "w", encoding="utf-8") as f:
        f.write(html_of(eml))
    with chromium.Chromium() as c:
        c.open("file://" + page, 375, height)
        c.screenshot(prefix + "-375.png", full_page=False)
        c.open("file://" + page, 1200, 900)
        c.screenshot(prefix + "-1200.png", full_page=True)
    os.unlink(page)
    os.rmdir(tmp)
    print("screenshot: %s-375.png %s-1200.png" % (prefix, prefix))
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "check":
        width, height = 375, 667
        rest = argv[2:]
        while rest:
            if rest[0] == "--width" and len(rest) > 1:
                width = int(rest[1])
            elif rest[0] == "--height" and len(rest) > 1:
                height = int(rest[1])
            else:
                raise SystemExit(__doc__)
            rest = rest[2:]
        return check(argv[1], width, height)
    if len(argv) == 3 and argv[0] == "shot":
        return shot(argv[1], argv[2])
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
