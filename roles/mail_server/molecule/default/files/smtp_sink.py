#!/usr/bin/python3
"""A stand-in for the host a forward goes to (the servicedesk's Postfix): takes every
message on SMTP and appends its envelope and subject, one JSON object a line, to a file.
Only what verify needs: no TLS, no size limit, no queue."""

import argparse
import asyncio
import email
import email.header
import json


async def session(reader, writer, out):
    async def reply(text):
        writer.write(text.encode() + b"\r\n")
        await writer.drain()

    await reply("220 sink ESMTP")
    sender, recipients = None, []
    while line := await reader.readline():
        command = line.decode(errors="replace").strip()
        verb = command[:4].upper()
        if verb in ("HELO", "EHLO"):
            await reply("250 sink")
        elif verb == "MAIL":
            sender, recipients = command.split(":", 1)[1].strip().split()[0].strip("<>"), []
            await reply("250 ok")
        elif verb == "RCPT":
            recipients.append(command.split(":", 1)[1].strip().split()[0].strip("<>"))
            await reply("250 ok")
        elif verb == "DATA":
            await reply("354 go ahead")
            lines = []
            while (data := await reader.readline()) not in (b".\r\n", b".\n", b""):
                lines.append(data[1:] if data.startswith(b"..") else data)
            header = email.message_from_bytes(b"".join(lines))
            subject = str(email.header.make_header(email.header.decode_header(header["Subject"] or "")))
            with open(out, "a", encoding="utf-8") as stream:
                record = {"from": sender, "to": recipients, "subject": subject}
                stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            await reply("250 queued")
        elif verb == "QUIT":
            await reply("221 bye")
            break
        elif verb in ("RSET", "NOOP"):
            await reply("250 ok")
        else:
            await reply("502 not here")
    writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=25)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    server = await asyncio.start_server(lambda r, w: session(r, w, args.out), "0.0.0.0", args.port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
