"""How hostgate writes bytes a client chose, as its README states it, written here a second time
for the tests to compare against: a log literal ('bob\\n', cut past 256 bytes with
"[cut, N bytes in all]") and the display form of admin cells."""

LOG_NAME_LIMIT = 256

# Code points shown escaped besides the C0 and C1 controls and DEL: line and paragraph separators
# and the invisible and bidirectional formatting characters.
_HIDDEN_RANGES = [(0x061C, 0x061C), (0x180E, 0x180E), (0x200B, 0x200F), (0x2028, 0x202E),
                  (0x2060, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB)]


def is_hidden(cp: int) -> bool:
    return cp < 0x20 or 0x7F <= cp <= 0x9F or any(lo <= cp <= hi for lo, hi in _HIDDEN_RANGES)


def _pieces(data: bytes, literal: bool):
    """(escaped text, bytes it stands for) for each character or stray byte of `data`."""
    i = 0
    while i < len(data):
        piece = None
        for n in (1, 2, 3, 4):
            try:
                ch = data[i:i + n].decode("utf-8", errors="strict")
            except UnicodeDecodeError:
                continue
            if len(ch) == 1:
                piece = ch
                break
        if piece is None:
            yield f"\\x{data[i]:02x}", 1
            i += 1
            continue
        n = len(piece.encode())
        cp = ord(piece)
        if literal and piece in "\\'":
            yield "\\" + piece, n
        elif piece == "\n":
            yield "\\n", n
        elif piece == "\r":
            yield "\\r", n
        elif piece == "\t":
            yield "\\t", n
        elif cp < 0x80 and is_hidden(cp):
            yield f"\\x{cp:02x}", n
        elif is_hidden(cp):
            yield f"\\u{cp:04x}", n
        else:
            yield piece, n
        i += n


def log_literal(data: bytes, limit: int = LOG_NAME_LIMIT) -> str:
    out, used = "", 0
    for text, n in _pieces(data, literal=True):
        if len((out + text).encode()) > limit:
            return f"'{out}'[cut, {len(data)} bytes in all]"
        out += text
        used += n
    return f"'{out}'"


def display(data: bytes) -> str:
    return "".join(text for text, _ in _pieces(data, literal=False))
