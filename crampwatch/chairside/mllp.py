"""The HL7 v2 listener: MLLP over TCP (python-hl7's asyncio streams), one ACK per message.

Each connection reads MLLP blocks (``<VT> message <FS><CR>``) of at most ``max_message_bytes``; a block is
parsed (:mod:`crampwatch.io.machine.hl7_oru`), handed to :meth:`LiveService.submit` and answered with
``MSA|AA`` once stored, or ``AE``/``AR`` with the reason in MSA-3; every refusal is audited. A connection
from an address outside the allowlist is closed at once (audited); one silent for ``idle_timeout_s`` is
closed; an oversized block is refused (AR) and its connection closed, because the rest of it cannot be told
from the next message. Nothing a client sends ends the listener: every error is answered or logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import hl7
from hl7.mllp import InvalidBlockError, start_hl7_server

from crampwatch.chairside.service import LiveService
from crampwatch.io.machine import hl7_oru
from crampwatch.io.machine.messages import ACCEPT, ERROR, REJECT, Refusal

log = logging.getLogger("crampwatch.mllp")


class MllpListener:
    """An asyncio MLLP server feeding a :class:`LiveService`."""

    def __init__(self, service: LiveService) -> None:
        self.service = service
        self.settings = service.settings
        self._server: asyncio.base_events.Server | None = None
        self.port: int | None = None

    async def start(self) -> int:
        """Listen on the configured host and port (port 0: a free one); the bound port."""
        self._server = await start_hl7_server(
            self._connection,
            self.settings.mllp_host,
            self.settings.mllp_port or 0,
            limit=self.settings.max_message_bytes,
            reuse_port=bool(self.settings.mllp_port),  # several web processes may share the port
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("HL7 v2 MLLP listener on %s:%s", self.settings.mllp_host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _connection(self, reader: Any, writer: Any) -> None:
        peer = writer.get_extra_info("peername") or ("unknown", 0)
        who = f"mllp:{peer[0]}"
        try:
            if not self.settings.address_allowed(str(peer[0])):
                await self.service.audit_refusal(
                    Refusal(REJECT, f"address {peer[0]} is not allowed"), who, "mllp-connect"
                )
                return
            await self._serve(reader, writer, who)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # noqa: BLE001  (one connection's failure never reaches the listener)
            log.exception("MLLP connection from %s failed", who)
        finally:
            writer.close()

    async def _serve(self, reader: Any, writer: Any, who: str) -> None:
        while True:
            try:
                async with asyncio.timeout(self.settings.idle_timeout_s):
                    block = await reader.readblock()
            except (TimeoutError, asyncio.IncompleteReadError):
                return  # idle or closed by the client
            except InvalidBlockError:
                refusal = Refusal(REJECT, "MLLP block does not start with <VT> (0x0b)")
                await self._answer(writer, await self._refuse(None, refusal, who))
                continue
            except ValueError:  # larger than the limit
                refusal = Refusal(REJECT, f"message larger than {self.settings.max_message_bytes} bytes")
                await self._answer(writer, await self._refuse(None, refusal, who))
                return
            await self._answer(writer, await self.handle(block, who))

    async def _answer(self, writer: Any, ack: str) -> None:
        writer.writeblock(ack.encode("utf-8"))
        await writer.drain()

    async def handle(self, block: bytes, who: str) -> str:
        """The ACK text for one MLLP block."""
        msg = None
        try:
            msg = hl7_oru.read(block.decode("utf-8", errors="replace"))
            facility = hl7_oru.sender(msg)[1]
            if not self.settings.sender_allowed(facility):
                raise Refusal(REJECT, f"sending facility {facility[:40]!r} (MSH-4) is not allowed")
            message = hl7_oru.machine_message(msg)
            msg = hl7_oru.header(msg)  # the rest of the parsed message is not kept while it is stored
            await self.service.submit(message)
            return hl7_oru.acknowledgement(msg, ACCEPT)
        except Refusal as refusal:
            return await self._refuse(msg, refusal, who)
        except Exception as exc:  # noqa: BLE001  (answer every message, whatever happened)
            log.exception("MLLP message from %s failed", who)
            refusal = Refusal(ERROR, f"internal error ({type(exc).__name__}); resend")
            return await self._refuse(msg, refusal, who)

    async def _refuse(self, msg: hl7.Message | None, refusal: Refusal, who: str) -> str:
        await self.service.audit_refusal(refusal, who, "hl7")
        try:
            return hl7_oru.acknowledgement(msg, refusal.code, refusal.reason)
        except Exception:  # noqa: BLE001  (a message too broken to answer in kind gets a bare ACK)
            return hl7_oru.acknowledgement(None, refusal.code, refusal.reason)
