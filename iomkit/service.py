"""A Faust app with the plumbing every service needs: typed records from Avro, dead
letters for any record that fails, metrics, health and consumer lag.

Agents registered with :meth:`Service.agent` receive one typed record at a time with its
:class:`Context`; whatever fails (decoding or the handler) goes to ``iom.dead-letters`` and
the stream carries on. Concurrency is 1: order and state matter in every service.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import faust
import orjson
from aiohttp import web
from aiokafka import TopicPartition
from faust.transport import consumer as faust_consumer
from faust.types import EventT
from multidict import CIMultiDict
from yarl import URL

from iomkit import forgetting, kafka, kernel, metrics, routing, streamwatch
from iomkit import headers as h
from iomkit import log as logging
from iomkit.audit import audit_record
from iomkit.clientconfig import ClientConfig
from iomkit.codec import Codec, DecodeError, SchemaRegistry
from iomkit.deadletters import Clock, DeadLetters
from iomkit.identity import keys as signing_keys
from iomkit.identity import oidc, tokens
from iomkit.identity.guard import (
    Forbidden,
    Guard,
    declared_path,
    principal_of,
    public,
    purpose_of,
)
from iomkit.identity.principal import Principal
from iomkit.identity.revocations import REVOCATIONS, Revocations
from iomkit.records import RECORD_TYPES
from iomkit.settings import Settings, get
from iomkit.topics import ALL as ALL_TOPICS
from iomkit.topics import AUDIT, TopicSpec, key_of


@dataclass(frozen=True)
class Context:
    """Where a record came from, so outputs can name their cause."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: dict[str, str]

    @property
    def cause(self) -> str:
        return h.cause(self.topic, self.partition, self.offset)


Handler = Callable[[Any, Context], Awaitable[None]]
# The deliveries of what the record being handled sent: awaited before the record is done,
# since Faust acknowledges (and so commits) a record once its handler returns.
_outputs: contextvars.ContextVar[list[asyncio.Future[Any]] | None] = contextvars.ContextVar(
    "outputs", default=None)


def faust_credentials(client: ClientConfig) -> faust.SASLCredentials | None:
    """Faust's spelling of the client file: SCRAM over TLS, verified against our CA."""
    if not client.secured:
        return None
    return faust.SASLCredentials(username=client.username, password=client.password,
                                 ssl_context=client.ssl_context(),
                                 mechanism=client.sasl_mechanism)


class Service:
    def __init__(
        self, name: str, settings: Settings | None = None, clock: Clock | None = None
    ) -> None:
        self.name = name
        self.settings = settings or get()
        logging.setup(self.settings.log_level)
        self.log = logging.get(f"services.{name}")
        self.clock = clock or self.settings.now
        self.codec = Codec(SchemaRegistry(self.settings.schemas_dir))
        datadir = self.settings.store_dir / name
        client = self.settings.kafka_client()  # the same file as every other client
        datadir.mkdir(parents=True, exist_ok=True)
        metrics.STORE_BYTES.labels(name).set_function(lambda: metrics.folder_bytes(datadir))
        self.revocations = Revocations(self.settings.token_ttl_s * 2)
        self.verifiers: dict[str, Callable[[str], Principal]] = {
            tokens.ISSUER: self._verify_local}
        self.keys = signing_keys.KeySet.from_file(
            self.settings.identity_dir / signing_keys.JWKS)
        self.provider: oidc.Provider | None = None
        if self.settings.oidc_issuer:  # a force's own identity provider: its tokens too
            provider = oidc.Provider.from_settings(self.settings)
            self.provider = provider
            self.verifiers[provider.issuer] = lambda token: provider.verify(token,
                                                                            self.clock())
        self.guard = Guard(
            name, self.settings.hosts(), self.settings.max_body_bytes, self.verify,
            self._audit_refusal, self.settings.signin(), self.settings.tls,
            self.revocations.revoked)
        self.app = faust.App(
            f"throughcare-{name}",
            broker=[f"kafka://{s.strip()}" for s in client.bootstrap_servers.split(",")],
            broker_credentials=faust_credentials(client),
            store=self.settings.store,
            datadir=str(datadir),
            processing_guarantee="at_least_once",
            consumer_auto_offset_reset="earliest",
            topic_partitions=self.settings.partitions,
            topic_replication_factor=self.settings.replication_factor,
            topic_disable_leader=True,
            producer_acks=-1,
            broker_session_timeout=self.settings.session_timeout_s,
            broker_heartbeat_interval=self.settings.session_timeout_s / 3,
            key_serializer="raw",
            value_serializer="raw",
            web_port=self.settings.port_of(name),
            # Set here, not derived: Faust derives it from web_port before --web-port is
            # read, and the assignor tells the other workers this address (routing.py).
            canonical_url=f"http://127.0.0.1:{_web_port(self.settings.port_of(name))}",
            web_bind="127.0.0.1",
            web_host="127.0.0.1",
            # Faust's own routes (/table/..., /router/..., statistics) would hand out
            # stored personal data to anyone: off, and the guard serves only declared routes.
            web_tables_enabled=False,
            web_router_enabled=False,
            web_stats_enabled=False,
            web_graph_enabled=False,
            web_application_options={"client_max_size": self.settings.max_body_bytes,
                                     "middlewares": [self.guard.middleware,
                                                     self._route_to_owner]},
            loghandlers=[],
            Worker="iomkit.worker:Worker",  # stops within shutdown_grace_s, started or not
        )
        self.app.shutdown_grace_s = self.settings.shutdown_grace_s  # type: ignore[attr-defined]
        self.dead_letters = DeadLetters(name, self._send_raw, self.clock)
        self._consumed: list[str] = []
        self._internal: list[TopicSpec] = []
        self._lag_groups: list[tuple[str, list[str]]] = []
        self._readiness: list[tuple[str, asyncio.Event]] = []
        self._routed: dict[str, tuple[faust.Table, str]] = {}
        self._http: aiohttp.ClientSession | None = None  # see peer_http()
        self._secret: bytes | None = None  # see _peer_secret()
        self.app.on_before_shutdown.connect(self._close_http)
        self._install_pages()
        self.declare(REVOCATIONS)
        self.app.task(self._follow_revocations)
        self.app.task(self._watch_lag)
        # /health is 503 until the agents' partitions are assigned and the tables restored:
        # a request served before that (or during a rebalance) would wait, or be lost.
        self.assigned = asyncio.Event()
        self.require_ready("partitions", self.assigned)
        self.app.task(self._watch_assignment)
        self._last_handled = time.monotonic()
        self.app.task(self._watch_stream)
        streamwatch.guard_gaps(faust_consumer.Consumer, self._compacted)

    def _compacted(self, topic: str) -> bool:
        return any(spec.name == topic and spec.compacted
                   for spec in (*ALL_TOPICS, *self._internal))

    def table(self, name: str, help: str = "") -> faust.Table:
        """A table of JSON values, rebuilt from its changelog topic after a crash.

        Keys are the input records' message keys as bytes (e.g. ``person_id.encode()``), so
        a key's table partition is its topic partition and web views can be routed to the
        worker that owns it."""
        table = self.app.Table(
            name, default=None, key_type=bytes, partitions=self.settings.partitions, help=help
        )
        self.measure_store(name, lambda: len(table))
        # Created before the worker starts: Faust creates it on its own only as it starts,
        # and the first record written to the table can come before the cluster's metadata
        # knows it (PartitionsMismatch, the record dead-lettered).
        self.declare(TopicSpec(table.changelog_topic.get_topic_name(), "key", None,
                               compacted=True))
        return table

    def measure_store(self, store: str, entries: Callable[[], float]) -> None:
        """``iom_store_entries{store}``: ``entries()`` as each scrape asks (no person ids)."""
        metrics.STORE_ENTRIES.labels(self.name, store).set_function(entries)

    def keep(self, table: faust.Table, key: bytes, value: Mapping[str, Any],
             context: Context) -> None:
        """Write a table entry that ``forget_older`` can forget (in an agent, as any write)."""
        table[key] = forgetting.stamped(value, int(self.clock().timestamp() * 1000),
                                        context.partition)

    def forget_older(self, table: faust.Table, before: datetime) -> int:
        """Forget the entries of ``table`` kept (``keep``) before ``before``: those of this
        worker's partitions with a tombstone to their changelog partition, those left from
        partitions it no longer owns from memory only. For a timer: between two awaits of
        the agents, so no record is half handled meanwhile. Returns how many went."""
        changelog = table.changelog_topic.get_topic_name()
        try:
            active = {tp.partition for tp in self.app.tables.recovery.active_tps
                      if tp.topic == changelog}
            entries = list(table.data.items())
        except Exception as exc:  # the store between states (a rebalance): next time
            self.log.warning("table.forget_later", table=changelog, reason=type(exc).__name__)
            return 0
        owned, left = forgetting.to_forget(entries, int(before.timestamp() * 1000), active)
        for key, partition in owned:
            del table.data[key]
            table.send_changelog(partition, key, None)
        for key in left:
            del table.data[key]
        return len(owned) + len(left)

    # -- topics and outputs -------------------------------------------------------------

    async def publish(
        self, spec: TopicSpec, value: faust.Record | dict[str, Any], cause: Context | None = None,
        *, acknowledged: bool = False,
    ) -> None:
        """Encode and send one record; Faust flushes the producer before it commits.

        ``acknowledged``: return only once the broker has the record (a web request that
        answers "accepted" must not lose it); an agent's outputs need not wait."""
        assert spec.record is not None
        data = value.asdict() if isinstance(value, faust.Record) else value
        payload = self.codec.encode(spec.record, data)
        headers = h.record_headers(spec.record, cause.cause if cause else None)
        await self._send_raw(spec.name, key_of(spec, data), payload, headers, acknowledged)

    async def send_json(self, spec: TopicSpec, key: bytes, value: dict[str, Any],
                        *, acknowledged: bool = False) -> None:
        """Send to an internal topic of JSON values (ticks, commands from web pages)."""
        await self._send_raw(spec.name, key, orjson.dumps(value), [], acknowledged)

    async def _send_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: h.Headers,
        acknowledged: bool = False,
    ) -> None:
        sent = await self.app.topic(topic, key_serializer="raw", value_serializer="raw").send(
            key=key, value=value, headers=headers
        )
        pending = _outputs.get()
        if pending is not None:
            pending.append(sent)
        if acknowledged:
            await sent
        metrics.RECORDS_OUT.labels(self.name, topic).inc()

    # -- agents -------------------------------------------------------------------------

    def agent(self, *specs: TopicSpec) -> Callable[[Handler], Handler]:
        """Register ``handler(record, context)`` for every record of the specs' topics, in
        one agent: records about one key arrive in order whatever topic they came by.

        A spec without a record is an internal topic of JSON values (handed over as dicts).
        """

        def register(handler: Handler) -> Handler:
            by_topic = {spec.name: spec for spec in specs}
            self._consumed.extend(by_topic)
            self.declare(*(spec for spec in specs if spec.record is None))
            channel = self.app.topic(
                *by_topic, key_type=bytes, value_type=bytes,
                key_serializer="raw", value_serializer="raw",
            )

            async def run(stream: faust.StreamT) -> None:
                async for event in stream.events():
                    await self.handle(by_topic[event.message.topic], event, handler)

            self.app.agent(channel, name=f"{self.name}.{handler.__name__}", concurrency=1)(run)
            return handler

        return register

    def declare(self, *specs: TopicSpec) -> None:
        """Topics of this service's own (changelogs, ticks, views): created before the
        worker starts (see :meth:`main`)."""
        self._internal.extend(specs)

    async def handle(self, spec: TopicSpec, event: EventT, handler: Handler) -> None:
        message = event.message
        context = Context(
            message.topic, message.partition, message.offset, message.key,
            h.as_dict(message.headers),
        )
        metrics.RECORDS_IN.labels(self.name, spec.name).inc()
        self._last_handled = time.monotonic()
        started = time.perf_counter()
        outputs: list[asyncio.Future[Any]] = []
        token = _outputs.set(outputs)
        try:
            try:
                record = self.typed(spec, message.value)
            except DecodeError as exc:
                await self._dead_letter(context, message, str(exc), "decode")
            else:
                try:
                    # Faust's timestamps are seconds
                    stamp = message.timestamp
                    with kernel.handling(None if stamp is None else stamp * 1000):
                        await handler(record, context)
                except Exception as exc:  # one bad record must never stop the stream
                    reason = f"{spec.record or spec.name}: {type(exc).__name__}: {exc}"
                    self.log.debug("handler.failed", topic=spec.name, offset=message.offset,
                                   exc=True)
                    await self._dead_letter(context, message, reason, "handler")
            await self.delivered()
        finally:
            _outputs.reset(token)
            metrics.PROCESSING_SECONDS.labels(self.name, spec.name).observe(
                time.perf_counter() - started
            )

    async def delivered(self) -> None:
        """Wait until every output of the record being handled is on the broker.

        Called by the kernel once the handler returns, and by a handler before it writes a
        table that records those outputs as sent: Faust sends the table's changelog record
        on its own, and it can reach the broker before the outputs do, so a crash between
        them would leave a state that says "sent" for outputs that were lost. A delivery
        that failed stops the worker before anything more is committed."""
        pending = _outputs.get()
        if not pending:
            return
        batch = list(pending)
        pending.clear()
        try:
            await kernel.settle(batch)
        except kernel.DeliveryFailed as exc:
            kernel.stop_now(self.log, "outputs.lost", reason=str(exc))

    def typed(self, spec: TopicSpec, raw: bytes | None) -> Any:
        """A record of ``spec`` as its Faust record type (a dict on internal JSON topics)."""
        value = kernel.decode(self.codec, spec, raw)
        if spec.record is None:
            return value
        try:
            return RECORD_TYPES[spec.record](**value)
        except Exception as exc:  # a value Faust's record type cannot hold
            raise DecodeError(f"{spec.record}: {type(exc).__name__}: {exc}") from exc

    async def follow(self, spec: TopicSpec, apply: Callable[..., Any],
                     caught_up: asyncio.Event | None = None,
                     after_batch: Callable[[], Awaitable[Any]] | None = None,
                     *, headers: bool = False,
                     positions: dict[TopicPartition, int] | None = None) -> None:
        """Every record of ``spec``'s topic, decoded (a dict), from the beginning and on,
        without a group: how every worker keeps a full copy of a topic it reads views from.

        A record that does not decode, or that ``apply`` refuses, is skipped, logged and
        counted, and the reader carries on: it is dead-lettered by the topic's group consumer
        (where every worker reads a topic, a letter from each would be one copy per worker).
        ``apply(key, value)``, or ``apply(key, value, headers)`` with ``headers``;
        ``positions`` as ``kafka.follow``'s (a reader that keeps its own offsets).
        """
        def keep(key: bytes | None, raw: bytes | None,
                 found: Sequence[tuple[str, bytes]] = ()) -> Any:
            metrics.RECORDS_IN.labels(self.name, spec.name).inc()
            if raw is None:
                return None  # a tombstone: the views keep the latest value, nothing to apply
            value = kernel.decode(self.codec, spec, raw)
            return apply(key, value, h.as_dict(found)) if headers else apply(key, value)

        await kafka.follow(self.settings, spec.name, keep, caught_up, service=self.name,
                           after_batch=after_batch, headers=True, positions=positions)

    async def _dead_letter(
        self, context: Context, message: Any, reason: str, kind: str
    ) -> None:
        await self.dead_letters(
            topic=context.topic, partition=context.partition, offset=context.offset,
            key=message.key, value=message.value, reason=reason, kind=kind,
            original_headers=list(message.headers or ()),
        )

    # -- web ----------------------------------------------------------------------------

    def page(self, path: str, *, owned_by: tuple[faust.Table, str] | None = None
             ) -> Callable[[Any], Any]:
        """``app.page`` with the route's access rule (iomkit.identity.allow or public) taken
        from the handler: a handler without one stops the service at import.

        ``owned_by=(table, "person_id")``: the view reads the table's entry for that path
        parameter, and a worker that does not own its partition forwards the request to the
        one that does (iomkit.routing), GET and POST alike."""
        def register(view: Any) -> Any:
            self.guard.declare(path, view)
            if owned_by is not None:
                self._routed[path] = owned_by
            return self.app.page(path)(view)
        return register

    def owner_of(self, table: faust.Table, key: bytes) -> str | None:
        """The URL of the worker that owns ``key``'s partition of ``table``, or None when
        it is this one (or the assignment is not known: one worker, or starting)."""
        try:
            url = str(self.app.router.key_store(table.name, key))
        except (KeyError, AttributeError):
            return None
        return None if routing.same_worker(url, str(self.app.conf.canonical_url)) else url

    def peer_http(self) -> aiohttp.ClientSession:
        """One client session for this worker's requests to the others (forwarded views,
        gathered lists, trails), its connections reused; made in the running loop on first
        use, closed at shutdown. It keeps no cookies: each request carries its own caller's,
        and a cookie one answer set must never go out with another caller's request."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30),
                                               cookie_jar=aiohttp.DummyCookieJar())
        return self._http

    async def _close_http(self, app: Any, **kwargs: Any) -> None:
        if self._http is not None:
            await self._http.close()

    def _peer_secret(self) -> bytes:
        if self._secret is None:
            self._secret = signing_keys.peer_secret(self.settings.identity_dir)
        return self._secret

    def workers_holding(self, table: faust.Table) -> list[str]:
        """The URLs of the other workers holding partitions of ``table`` (as Faust's
        assignor last spread them), for a list that gathers their parts."""
        try:
            spread = self.app.assignor.table_metadata(table.changelog_topic.get_topic_name())
        except (KeyError, AttributeError):
            return []
        me = str(self.app.conf.canonical_url)
        return sorted(url for url, tps in spread.items()
                      if any(tps.values()) and not routing.same_worker(url, me))

    async def gather(self, request: web.Request, table: faust.Table,
                     local: Callable[[], list[Any]]) -> list[Any]:
        """The rows of a list over ``table`` from every worker (iomkit.routing): ``local()``
        gives this worker's rows (JSON values), each other worker holding partitions gives
        its own, asked with the caller's request. Asked by a peer, the view answers with
        its part here (an HTTP exception ends the view). A part that cannot be had ends the
        request with 503: a list with people missing from it must not pass for whole."""
        rows = local()
        if self.asked_by_peer(request):
            raise web.HTTPOk(body=orjson.dumps({"part": rows}, default=str),
                             content_type="application/json")
        others = self.workers_holding(table)
        if not others:
            return rows
        parts = await asyncio.gather(*(self._part_of(url, request) for url in others))
        return rows + [row for part in parts for row in part]

    def asked_by_peer(self, request: web.Request) -> bool:
        """Whether a worker of this deployment asks for this worker's part only (a gathered
        list, a trail): the ``GATHER`` header with its proof. The header without a valid
        proof is refused: the part is raw rows, and the asking worker audits, not this one."""
        if routing.GATHER not in request.headers:
            return False
        if not routing.from_a_peer(self._peer_secret(), request.method, request.raw_path,
                                   request.headers):
            raise Forbidden("a part is for this service's workers only")
        return True

    def as_peer(self, method: str, target: URL, headers: Mapping[str, str]
                ) -> CIMultiDict[str]:
        """``headers`` (the caller's, as iomkit.routing forwards them) marked as a worker's
        request for ``target``'s part, with the proof ``asked_by_peer`` checks."""
        out = routing.request_headers(headers)
        out[routing.GATHER] = routing.gather_proof(self._peer_secret(), method,
                                                   target.raw_path_qs, out)
        return out

    async def _to_peer(self, url: str, request: web.Request,
                       headers: Callable[[URL], Mapping[str, str]]
                       ) -> tuple[int, bytes, Mapping[str, str]]:
        """``request`` sent on to the worker at ``url`` (same method, path, query and body,
        ``headers(target)``): its status, body and headers. A form's POST goes too."""
        target = URL(url).with_path(request.path).with_query(request.query)
        body = await request.read()
        async with self.peer_http().request(request.method, target, data=body or None,
                                            headers=headers(target), allow_redirects=False
                                            ) as answer:
            return answer.status, await answer.read(), answer.headers

    async def _part_of(self, url: str, request: web.Request) -> list[Any]:
        try:
            status, body, _ = await self._to_peer(url, request, lambda target: self.as_peer(
                request.method, target, request.headers))
            if status == 200:
                return list(orjson.loads(body)["part"])
            reason = f"HTTP {status}"
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
            reason = type(exc).__name__
        self.log.warning("gather.part_missing", peer=url, reason=reason)
        raise web.HTTPServiceUnavailable(
            body=orjson.dumps({"error": "a worker holding part of this list is not "
                               "reachable; try again"}),
            content_type="application/json", headers={"Retry-After": "2"})

    @web.middleware
    async def _route_to_owner(self, request: web.Request,
                              handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                              ) -> web.StreamResponse:
        owned = self._routed.get(declared_path(request) or "")
        if owned is None or routing.FORWARDED in request.headers:
            return await handler(request)
        table, parameter = owned
        owner = self.owner_of(table, request.match_info[parameter].encode())
        if owner is None:
            return await handler(request)
        return await self._forward(request, owner)

    async def _forward(self, request: web.Request, owner: str) -> web.StreamResponse:
        try:
            status, body, headers = await self._to_peer(
                owner, request, lambda _: routing.request_headers(request.headers))
            return web.Response(body=body, status=status,
                                headers=routing.response_headers(headers))
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.log.warning("route.owner_unreachable", owner=owner, error=type(exc).__name__)
            return web.json_response({"error": "the worker holding this record is not "
                                      "reachable; try again"}, status=503,
                                     headers={"Retry-After": "2"})

    # -- identity and audit -------------------------------------------------------------

    def _verify_local(self, token: str) -> Principal:
        return tokens.verify(token, self.keys, self.clock())

    def verify(self, token: str) -> Principal:
        """The principal of a token of our own sign-in or of a configured OpenID issuer."""
        issuer = tokens.unverified_issuer(token)
        verifier = self.verifiers.get(issuer)
        if verifier is None:
            raise tokens.InvalidToken(f"issuer {issuer[:80]!r} is not trusted")
        return verifier(token)

    async def _follow_revocations(self) -> None:
        await self.revocations.follow(self.settings)

    async def audit(self, request: Any, action: str, purpose: str,
                    person_id: str | None = None, details: dict[str, str] | None = None,
                    people: list[str] | None = None) -> None:
        """One record in the processing log, acknowledged by the broker before the caller
        answers: the actor is the verified token's user, never a header. ``people``: a
        list shown at once is one record naming them all, not one per person."""
        principal = principal_of(request)
        extra = {"path": str(request.path), "role": principal.role, **(details or {})}
        stated = purpose_of(request)
        if stated:
            extra["stated_purpose"] = stated[:500]
        if people is not None:
            extra.update(count=str(len(people)), people=",".join(people))
        await self.publish(AUDIT, audit_record(
            service=self.name, actor=principal.username, action=action, purpose=purpose,
            person_id=person_id, at=self.clock(), details=extra), acknowledged=True)

    async def _audit_refusal(self, *, actor: str, action: str, purpose: str,
                             person_id: str | None, details: dict[str, str]) -> None:
        await self.publish(AUDIT, audit_record(
            service=self.name, actor=actor, action=action, purpose=purpose,
            person_id=person_id, at=self.clock(), details=details), acknowledged=True)

    def _install_pages(self) -> None:
        @self.page("/metrics")
        @public
        async def metrics_page(web: Any, request: Any) -> Any:
            # aiohttp refuses a charset inside content_type, so the header is set whole.
            return web.bytes(metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE})

        @self.page("/health")
        @public
        async def health(web: Any, request: Any) -> Any:
            waiting = [name for name, ready in self._readiness if not ready.is_set()]
            if waiting:
                return web.json({"service": self.name, "status": "starting",
                                 "waiting_for": waiting}, status=503)
            return web.json({"service": self.name, "status": "ok"})

    async def _watch_assignment(self) -> None:
        # Faust keeps app.rebalancing set until the streams are resumed after a rebalance.
        while True:
            if not self.app.rebalancing and self.app.tables.recovery.completed.is_set():
                self.assigned.set()
            else:
                self.assigned.clear()
            await asyncio.sleep(0.1)

    async def _watch_stream(self) -> None:
        # (no parameters: Faust hands a task that takes one the app)
        await streamwatch.watch(self.app, self.name, set(self._consumed), self.assigned,
                                lambda: self._last_handled, self.log)

    def require_ready(self, name: str, ready: asyncio.Event) -> None:
        """/health answers 503 until ``ready`` is set (e.g. a batch consumer's partitions
        are assigned and restored)."""
        self._readiness.append((name, ready))

    def track_lag(self, group: str, topic_names: list[str]) -> None:
        """Also report the lag of a consumer group of our own (a batch consumer)."""
        self._lag_groups.append((group, topic_names))

    async def _watch_lag(self) -> None:
        groups = [(self.app.conf.id, sorted(set(self._consumed))), *self._lag_groups]
        await asyncio.gather(*(
            metrics.watch_lag(self.settings, self.name, group, names)
            for group, names in groups if names
        ))

    def main(self) -> None:
        if "worker" in sys.argv:
            asyncio.run(self._before_worker())
        self.app.main()

    async def _before_worker(self) -> None:
        """Wait for the broker (a worker may start first), answering /health with 503 and
        why meanwhile, then create this service's own topics."""
        waiting: dict[str, Any] = {"service": self.name, "status": "waiting_for_broker"}
        page = web.Application()
        page.router.add_get("/health", lambda _: web.json_response(waiting, status=503))
        runner = web.AppRunner(page, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.app.conf.web_bind, _web_port(self.app.conf.web_port),
                          reuse_address=True).start()
        try:
            await kafka.wait_for_broker(self.settings, waiting=lambda attempt, delay, reason:
                                        waiting.update(attempt=attempt, retry_in_s=delay))
            if self._internal:
                await kafka.create_topics(self.settings, self._internal)
        finally:
            await runner.cleanup()


def _web_port(configured: int) -> int:
    """The port the worker will serve on: ``--web-port`` on the command line, else the
    setting (Faust reads the option only as the worker starts)."""
    for n, arg in enumerate(sys.argv):
        if arg == "--web-port" and n + 1 < len(sys.argv):
            return int(sys.argv[n + 1])
        if arg.startswith("--web-port="):
            return int(arg.split("=", 1)[1])
    return configured
