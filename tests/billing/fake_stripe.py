"""A small fake of the Stripe API over real HTTP, for the SDK to talk to (tests only).

It keeps its own state (customers, subscriptions, meter events) the way Stripe would, so tests
change "what Stripe says" here and send signed webhooks that make the app read it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):06d}"


def subscription(
    customer: str,
    price: str,
    *,
    metered: str = "",
    status: str = "active",
    start: int | None = None,
    days: int = 30,
    cancel_at_period_end: bool = False,
    workspace_id: str = "",
    sub_id: str | None = None,
) -> dict:
    """A subscription object as the current API version returns it (periods on the items)."""
    start = start or int(time.time()) - 3600
    end = start + days * 86400
    items = [{"price": price, "usage_type": "licensed"}]
    if metered:
        items.append({"price": metered, "usage_type": "metered"})
    return {
        "id": sub_id or new_id("sub"),
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "metadata": {"workspace_id": workspace_id} if workspace_id else {},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": new_id("si"),
                    "object": "subscription_item",
                    "price": {
                        "id": item["price"],
                        "object": "price",
                        "recurring": {"interval": "month", "usage_type": item["usage_type"]},
                    },
                    "current_period_start": start,
                    "current_period_end": end,
                }
                for item in items
            ],
        },
    }


def sign(body: str, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header computed as Stripe computes it: v1 = HMAC-SHA256 of "t.body"."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event(
    type_: str, obj: dict, *, event_id: str | None = None, created: int | None = None
) -> dict:
    return {
        "id": event_id or new_id("evt"),
        "object": "event",
        "type": type_,
        "api_version": "2026-02-25.clover",
        "created": created or int(time.time()),
        "data": {"object": obj},
    }


class FakeStripe:
    def __init__(self):
        self.customers: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.checkout_sessions: list[dict] = []
        self.meter_events: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._serve(self, "GET", {})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                params = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                fake._serve(self, "POST", params)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # --- state helpers for tests -------------------------------------------------------------

    def put_subscription(self, sub: dict) -> dict:
        with self.lock:
            self.subscriptions[sub["id"]] = sub
        return sub

    def calls(self, method: str, path_prefix: str) -> list[dict]:
        return [
            params
            for m, path, params in self.requests
            if m == method and path.startswith(path_prefix)
        ]

    # --- the API -------------------------------------------------------------------------------

    def _serve(self, handler, method: str, params: dict) -> None:
        path = handler.path.split("?", 1)[0]
        with self.lock:
            self.requests.append((method, path, params))
            if self.fail_next:
                self.fail_next -= 1
                return self._reply(handler, 500, _error("api_error", "Fake outage."))
            status, body = self._route(method, path, params)
        self._reply(handler, status, body)

    def _reply(self, handler, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Request-Id", new_id("req"))
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        if method == "POST" and path == "/v1/customers":
            customer_id = new_id("cus")
            customer = {
                "id": customer_id,
                "object": "customer",
                "email": params.get("email"),
                "name": params.get("name"),
                "metadata": {"workspace_id": params.get("metadata[workspace_id]")},
            }
            self.customers[customer_id] = customer
            return 200, customer
        if method == "POST" and path == "/v1/checkout/sessions":
            session = {
                "id": new_id("cs"),
                "object": "checkout.session",
                "mode": params.get("mode"),
                "customer": params.get("customer"),
                "client_reference_id": params.get("client_reference_id"),
                "url": "https://checkout.stripe.test/pay/" + new_id("cs"),
                "params": params,
            }
            self.checkout_sessions.append(session)
            return 200, session
        if method == "POST" and path == "/v1/billing_portal/sessions":
            return 200, {
                "id": new_id("bps"),
                "object": "billing_portal.session",
                "customer": params.get("customer"),
                "url": "https://billing.stripe.test/p/session/" + new_id("bps"),
            }
        match = re.fullmatch(r"/v1/subscriptions/([\w]+)", path)
        if match:
            sub = self.subscriptions.get(match.group(1))
            if sub is None:
                return 404, _error(
                    "invalid_request_error",
                    f"No such subscription: '{match.group(1)}'",
                    "resource_missing",
                )
            if method == "POST":
                self._modify(sub, params)
            return 200, sub
        if method == "POST" and path == "/v1/billing/meter_events":
            # Like Stripe, an event sent without an identifier gets a fresh one.
            identifier: str = params.get("identifier") or new_id("mev")
            if identifier in self.meter_events:
                return 400, _error(
                    "invalid_request_error",
                    f"An event with identifier {identifier} already exists.",
                    "resource_already_exists",
                )
            self.meter_events[identifier] = params
            return 200, {
                "object": "billing.meter_event",
                "identifier": identifier,
                "event_name": params.get("event_name"),
                "livemode": False,
                "payload": {
                    "stripe_customer_id": params.get("payload[stripe_customer_id]"),
                    "value": params.get("payload[value]"),
                },
                "timestamp": int(params.get("timestamp") or 0),
                "created": int(time.time()),
            }
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({method} {path}).")

    def _modify(self, sub: dict, params: dict) -> None:
        if "cancel_at_period_end" in params:
            sub["cancel_at_period_end"] = params["cancel_at_period_end"] == "true"
        indexes = sorted(
            {int(m.group(1)) for key in params if (m := re.match(r"items\[(\d+)\]", key))}
        )
        if not indexes:
            return
        items = sub["items"]["data"]
        period = (items[0]["current_period_start"], items[0]["current_period_end"])
        for index in indexes:
            prefix = f"items[{index}]"
            if params.get(f"{prefix}[deleted]") == "true":
                items[:] = [item for item in items if item["id"] != params[f"{prefix}[id]"]]
            elif f"{prefix}[price]" in params:
                metered = f"{prefix}[quantity]" not in params
                items.append(
                    {
                        "id": new_id("si"),
                        "object": "subscription_item",
                        "price": {
                            "id": params[f"{prefix}[price]"],
                            "object": "price",
                            "recurring": {
                                "interval": "month",
                                "usage_type": "metered" if metered else "licensed",
                            },
                        },
                        "current_period_start": period[0],
                        "current_period_end": period[1],
                    }
                )


def _error(type_: str, message: str, code: str | None = None) -> dict:
    body = {"type": type_, "message": message}
    if code:
        body["code"] = code
    return {"error": body}
