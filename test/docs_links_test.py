#!/usr/bin/python3
"""Every relative link in README.md and docs/*.md must resolve.

Usage: docs_links_test.py SOURCE_DIR

A link's file (or folder) must exist; a link with a #fragment to a Markdown
file (or a bare #fragment, the same file) must name one of that file's
headings, slugged as GitHub does: lowercase, punctuation dropped except '-'
and '_', each space becomes '-', and a repeated heading gets -1, -2, ...
Links inside code (fenced blocks and `inline code`) are text, not links.
External links (http:, https:, mailto:) are not checked: the test is offline.
Prints "docs_links_test: ok ..." or one line per broken link, and exits 1.
"""
import glob
import os
import re
import sys

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+).*?\1")
# [text](target) and ![alt](target); the target ends at whitespace or ')'.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
# [label]: target
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def prose_lines(path):
    """(line number, text) of the lines outside fenced code blocks."""
    in_fence = None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fence = FENCE.match(line)
            if fence:
                if in_fence is None:
                    in_fence = fence.group(1)
                elif fence.group(1) == in_fence:
                    in_fence = None
                continue
            if in_fence is None:
                yield number, line.rstrip("\n")


def slug(heading):
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts as its text
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w: Unicode letters, digits and '_'
    return text.replace(" ", "-")


_anchor_cache = {}


def anchors(path):
    if path not in _anchor_cache:
        seen = {}
        result = set()
        for _, line in prose_lines(path):
            m = HEADING.match(line)
            if not m:
                continue
            base = slug(m.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            result.add(base if n == 0 else f"{base}-{n}")
        _anchor_cache[path] = result
    return _anchor_cache[path]


def links(path):
    for number, line in prose_lines(path):
        m = REFERENCE_LINK.match(line)
        if m:
            yield number, m.group(1)
            continue
        for m in INLINE_LINK.finditer(INLINE_CODE.sub("", line)):
            yield number, m.group(1)


def problem(source, target, root):
    """None when target (as written in source) resolves, else why not."""
    file_part, _, fragment = target.partition("#")
    if file_part:
        if file_part.startswith("/"):
            return "absolute path (use a relative one)"
        resolved = os.path.normpath(os.path.join(os.path.dirname(source), file_part))
        if not os.path.exists(resolved):
            return f"no such file: {os.path.relpath(resolved, root)}"
    else:
        resolved = source
    if fragment and resolved.endswith(".md"):
        if fragment not in anchors(resolved):
            return f"no heading #{fragment} in {os.path.relpath(resolved, root)}"
    return None


def main():
    if len(sys.argv) != 2:
        print("usage: docs_links_test.py SOURCE_DIR", file=sys.stderr)
        return 2
    root = os.path.abspath(sys.argv[1])
    pages = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    broken = 0
    checked = 0
    for page in pages:
        if not os.path.exists(page):
            print(f"docs_links_test: missing {os.path.relpath(page, root)}")
            broken += 1
            continue
        for number, target in links(page):
            if not target or EXTERNAL.match(target):
                continue
            checked += 1
            why = problem(page, target, root)
            if why:
                broken += 1
                print(f"docs_links_test: {os.path.relpath(page, root)}:{number}: broken link ({target}): {why}")
    if broken:
        print(f"docs_links_test: {broken} broken of {checked} links")
        return 1
    print(f"docs_links_test: ok ({checked} relative links in {len(pages)} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
