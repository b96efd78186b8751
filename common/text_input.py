"""
Reading the text files users hand to the scripts (cloze items, word lists, translation pairs,
similarity tables, prompts): UTF-8, with a byte-order mark dropped and '\\n', '\\r\\n' or '\\r'
ending a line. A file in another encoding is an error naming the file, the line and the column,
and saying how to convert it, instead of a UnicodeDecodeError from deep inside a script.
"""

from __future__ import annotations

import os

from common.errors import UserError

UTF8_BOM = b'\xef\xbb\xbf'
UTF16_BOMS = (b'\xff\xfe', b'\xfe\xff')


def read_text(path: str | os.PathLike, what: str = 'file') -> str:
    """The text of a UTF-8 file, its line ends made '\\n'; what names the file in messages (e.g.
    '--words_file')."""
    if os.path.isdir(path):
        raise UserError(f"{what} {path} is a folder: give the file in it")
    if not os.path.isfile(path):
        raise UserError(f"{what} {path}: no such file")
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        raise UserError(f"{what} {path} cannot be read: {e.strerror}")
    if data.startswith(UTF16_BOMS):
        raise UserError(
            f"{what} {path} is UTF-16, not UTF-8: convert it, e.g. with "
            f"iconv -f UTF-16 -t UTF-8 {path} > {path}.utf8"
        )
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    data = data.replace(b'\r\n', b'\n').replace(b'\r', b'\n')
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as e:
        line_start = data.rfind(b'\n', 0, e.start) + 1
        line = data.count(b'\n', 0, e.start) + 1
        raise UserError(
            f"{what} {path}, line {line}, column {e.start - line_start + 1}: byte "
            f"{data[e.start]:#04x} is not UTF-8 (is the file Latin-1 or Windows-1252?). Convert it, "
            f"e.g. with iconv -f WINDOWS-1252 -t UTF-8 {path} > {path}.utf8"
        )


def read_text_lines(path: str | os.PathLike, what: str = 'file') -> list[str]:
    """The lines of a UTF-8 text file, without their line ends."""
    text = read_text(path, what)
    lines = text.split('\n')
    return lines[:-1] if lines and lines[-1] == '' else lines
