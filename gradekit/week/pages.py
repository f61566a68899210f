"""HTML pages people read (a student's feedback, the staff's marking pages): jinja2 templates with
autoescaping, so whatever a student wrote (an item reason quoting their error, an answer, a file name)
arrives as text. Images from a notebook are embedded only when their data is base64 of the image type
they declare; anything else is left out, never pasted into an attribute."""
from __future__ import annotations

import base64
import binascii
import re

import jinja2

ENVIRONMENT = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)

# what each image type's file starts with; SVG is left out on purpose (it is a document that can run script)
_MAGIC = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",), "image/gif": (b"GIF87a", b"GIF89a")}
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
MAX_IMAGE_BYTES = 8 << 20


def image_data_uri(mime: str, data) -> str | None:
    """`data:` URI for a notebook image output, or None when it is not what it says it is."""
    if mime not in _MAGIC or not isinstance(data, str):
        return None
    text = "".join(data.split())
    if len(text) > MAX_IMAGE_BYTES * 4 // 3 + 4 or not _BASE64.match(text):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(_MAGIC[mime]):
        return None
    return f"data:{mime};base64,{text}"


def images_of(output: dict) -> list[str]:
    """The checked data URIs of one notebook output's images."""
    data = output.get("data", {}) if isinstance(output, dict) else {}
    found = [image_data_uri(mime, data.get(mime)) for mime in _MAGIC if mime in data]
    return [uri for uri in found if uri]


def render(template: str, **values) -> str:
    return ENVIRONMENT.from_string(template).render(**values)
