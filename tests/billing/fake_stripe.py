"""A local stand-in for Stripe's HTTP API, for the real stripe library (which speaks through requests).

Stripe's API cannot run here, so `responses` answers the library's HTTP calls at the real paths
(https://api.stripe.com/v1/...) with the real form-encoded request bodies and JSON objects shaped
like Stripe's. The fake keeps state: what it answers for GET /v1/subscriptions/{id} is "what
Stripe holds now", which is what dj-stripe re-fetches when a webhook arrives.
"""

import itertools
import json
import re
import time
from urllib.parse import parse_qsl

import responses
import stripe

API = "https://api.stripe.com"
ACCOUNT_ID = "acct_1FakeDataXPipe"
WEBHOOK_SECRET = "whsec_test_secret_for_billing_tests"
PRICES = {
    "price_team_monthly": ("prod_team", "Team", 4900),
    "price_enterprise_monthly": ("prod_ent", "Enterprise", 99900),
}


class FakeStripe:
    def __init__(self):
        self.ids = itertools.count(1)
        self.calls: list[tuple[str, str, dict]] = []
        self.failing: set[tuple[str, str]] = set()
        self.customers: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.now = int(time.time())

    # --- state -------------------------------------------------------------------------
    def next_id(self, prefix: str) -> str:
        return f"{prefix}_Fake{next(self.ids):06d}"

    def fail(self, method: str, path_pattern: str) -> None:
        """From now on, answer this route with Stripe's 500 api_error."""
        self.failing.add((method, path_pattern))

    def calls_to(self, method: str, path_pattern: str) -> list[dict]:
        return [form for m, path, form in self.calls if m == method and re.fullmatch(path_pattern, path)]

    def price(self, price_id: str) -> dict:
        product_id, name, amount = PRICES[price_id]
        return {
            "id": price_id,
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": self.now - 86400,
            "currency": "usd",
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": name,
            "product": product_id,
            "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
            "tax_behavior": "unspecified",
            "type": "recurring",
            "unit_amount": amount,
            "unit_amount_decimal": str(amount),
        }

    def product(self, product_id: str) -> dict:
        name = next(n for p, n, _ in PRICES.values() if p == product_id)
        return {
            "id": product_id,
            "object": "product",
            "active": True,
            "created": self.now - 86400,
            "description": None,
            "livemode": False,
            "metadata": {},
            "name": name,
            "type": "service",
        }

    def account(self) -> dict:
        return {
            "id": ACCOUNT_ID,
            "object": "account",
            "business_profile": {"name": "DataXPipe test"},
            "charges_enabled": True,
            "country": "US",
            "created": self.now - 10 * 86400,
            "default_currency": "usd",
            "details_submitted": True,
            "email": "billing@dataxpipe.test",
            "metadata": {},
            "payouts_enabled": True,
            "settings": {"dashboard": {"display_name": "DataXPipe test"}},
            "type": "standard",
        }

    def add_customer(self, metadata=None, email="") -> dict:
        customer = {
            "id": self.next_id("cus"),
            "object": "customer",
            "balance": 0,
            "created": self.now,
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": None,
            "email": email or None,
            "invoice_settings": {"default_payment_method": None},
            "livemode": False,
            "metadata": metadata or {},
            "name": None,
        }
        self.customers[customer["id"]] = customer
        return customer

    def delete_customer(self, customer_id: str) -> dict:
        """Stripe deletes the customer and cancels its subscriptions; later GETs answer `deleted`."""
        for sub in list(self.subscriptions.values()):
            if sub["customer"] == customer_id and sub["status"] != "canceled":
                self.set_subscription(customer_id, sub["items"]["data"][0]["price"]["id"], "canceled", sub["id"])
        self.customers[customer_id] = {"id": customer_id, "object": "customer", "deleted": True}
        return self.customers[customer_id]

    def set_subscription(self, customer_id: str, price_id: str, status: str = "active", sub_id: str | None = None):
        """Creates or changes a subscription: from now on Stripe 'holds' this state."""
        sub_id = sub_id or self.next_id("sub")
        previous = self.subscriptions.get(sub_id)
        created = previous["created"] if previous else self.now
        item = {
            "id": f"si_{sub_id[4:]}",
            "object": "subscription_item",
            "created": created,
            "current_period_start": self.now,
            "current_period_end": self.now + 30 * 86400,
            "metadata": {},
            "price": self.price(price_id),
            "quantity": 1,
            "subscription": sub_id,
            "tax_rates": [],
        }
        self.subscriptions[sub_id] = {
            "id": sub_id,
            "object": "subscription",
            "billing_cycle_anchor": created,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": self.now if status == "canceled" else None,
            "collection_method": "charge_automatically",
            "created": created,
            "currency": "usd",
            "customer": customer_id,
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "discounts": [],
            "ended_at": self.now if status == "canceled" else None,
            "items": {
                "object": "list",
                "data": [item],
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "latest_invoice": None,
            "livemode": False,
            "metadata": {},
            "pending_setup_intent": None,
            "pending_update": None,
            "schedule": None,
            "start_date": created,
            "status": status,
            "test_clock": None,
            "trial_end": None,
            "trial_start": None,
        }
        return self.subscriptions[sub_id]

    # --- HTTP --------------------------------------------------------------------------
    def install(self, rsps: responses.RequestsMock) -> None:
        routes = [
            ("GET", r"/v1/account", lambda form, m: self.account()),
            ("POST", r"/v1/customers", self._create_customer),
            ("GET", r"/v1/customers/([\w]+)", lambda form, m: self._get(self.customers, m.group(1), "customer")),
            ("DELETE", r"/v1/customers/([\w]+)", lambda form, m: self._get({}, m.group(1), "customer")),
            (
                "GET",
                r"/v1/subscriptions/([\w]+)",
                lambda form, m: self._get(self.subscriptions, m.group(1), "subscription"),
            ),
            ("GET", r"/v1/prices/([\w]+)", lambda form, m: self.price(m.group(1))),
            ("GET", r"/v1/products/([\w]+)", lambda form, m: self.product(m.group(1))),
            ("GET", r"/v1/products/([\w]+)/features", lambda form, m: self.empty_list(m.group(0))),
            ("POST", r"/v1/checkout/sessions", self._create_checkout_session),
            ("POST", r"/v1/billing_portal/sessions", self._create_portal_session),
        ]
        for method, pattern, handler in routes:
            rsps.add_callback(
                method, re.compile(re.escape(API) + pattern + r"(\?.*)?$"), callback=self._wrap(pattern, handler)
            )

    def _wrap(self, pattern, handler):
        def callback(request):
            path = request.path_url.split("?", 1)[0]
            form = dict(parse_qsl(request.body if isinstance(request.body, str) else (request.body or b"").decode()))
            if "?" in request.path_url:
                form.update(parse_qsl(request.path_url.split("?", 1)[1]))
            self.calls.append((request.method, path, form))
            assert request.headers["Authorization"].startswith("Bearer sk_test_")
            if any(m == request.method and re.fullmatch(p, path) for m, p in self.failing):
                error = {"error": {"type": "api_error", "message": "Something went wrong on Stripe's end."}}
                return 500, {}, json.dumps(error)
            result = handler(form, re.fullmatch(pattern, path))
            if isinstance(result, tuple):
                return result
            return 200, {"Request-Id": "req_fake"}, json.dumps(result)

        return callback

    @staticmethod
    def empty_list(url: str) -> dict:
        return {"object": "list", "data": [], "has_more": False, "url": url}

    @staticmethod
    def _get(store, object_id, kind):
        if object_id not in store:
            error = {
                "error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "message": f"No such {kind}: '{object_id}'",
                    "param": "id",
                }
            }
            return 404, {}, json.dumps(error)
        return store[object_id]

    def _create_customer(self, form, match):
        metadata = {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")}
        return self.add_customer(metadata=metadata, email=form.get("email", ""))

    def _create_checkout_session(self, form, match):
        session_id = self.next_id("cs_test")
        return {
            "id": session_id,
            "object": "checkout.session",
            "client_reference_id": form.get("client_reference_id"),
            "customer": form.get("customer"),
            "livemode": False,
            "mode": form.get("mode"),
            "status": "open",
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }

    def _create_portal_session(self, form, match):
        session_id = self.next_id("bps")
        return {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": form.get("customer"),
            "livemode": False,
            "return_url": form.get("return_url"),
            "url": f"https://billing.stripe.com/p/session/test_{session_id}",
        }


def make_event(event_type: str, obj: dict, *, created: int | None = None, event_id: str | None = None) -> dict:
    from djstripe.settings import djstripe_settings

    return {
        "id": event_id or f"evt_{obj['id']}_{event_type.rsplit('.', 1)[-1]}_{int(time.time() * 1e6)}",
        "object": "event",
        "api_version": djstripe_settings.STRIPE_API_VERSION,
        "created": created or int(time.time()),
        "data": {"object": json.loads(json.dumps(obj))},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def signed_headers(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict:
    """Stripe-Signature computed by the stripe library itself."""
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return {"HTTP_STRIPE_SIGNATURE": header}
