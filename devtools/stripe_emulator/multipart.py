"""Multipart request bodies (Stripe's file uploads), parsed as Stripe reads them: by part."""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import NamedTuple


class Part(NamedTuple):
    name: str
    filename: str | None
    content_type: str
    data: bytes


def multipart_parts(content_type_header: str, body: bytes) -> list[Part]:
    """The parts of a multipart body, in order; none when it is not multipart."""
    head = f"Content-Type: {content_type_header}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    parts = []
    for part in message.iter_parts() if message.is_multipart() else []:
        assert isinstance(part, Message)
        payload = part.get_payload(decode=True)
        parts.append(
            Part(
                name=str(part.get_param("name", header="content-disposition") or ""),
                filename=part.get_filename(),
                content_type=part.get_content_type(),
                data=payload if isinstance(payload, bytes) else b"",
            )
        )
    return parts
