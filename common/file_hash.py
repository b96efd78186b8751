"""The sha256 of a file, streamed: what identifies a checkpoint, a tokenizer or a raw text file in
the records that describe them (about a second per GB)."""

import hashlib


def file_sha256(path: str) -> str:
    """The hex sha256 of the file at `path`, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
