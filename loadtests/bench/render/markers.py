"""Generated text between markers in a hand-written page (README.md, docs/argument.md): only what lies
between a pair of HTML comments is replaced, so the rest of the page stays the author's."""


def replace_between(text: str, markers: tuple[str, str], body: str) -> str | None:
    """The body on lines of its own between the markers; None if the text lacks them."""
    return replaced(text, markers, f"\n{body.strip()}\n")


def replace_inline(text: str, markers: tuple[str, str], body: str) -> str | None:
    """The body on the markers' own line, as a table cell needs; None if the text lacks them."""
    return replaced(text, markers, " ".join(body.split()))


def replaced(text: str, markers: tuple[str, str], inside: str) -> str | None:
    start, end = markers
    if start not in text or end not in text:
        return None
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}{inside}{end}{tail}"
