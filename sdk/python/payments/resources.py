"""One class per REST resource; class methods map one-to-one to routes."""

from urllib.parse import quote

from payments import _http
from payments.objects import ListObject, convert

_OPTIONS = ("api_key", "idempotency_key", "timeout", "max_retries")


def _split(params):
    """Separates request options (api_key, idempotency_key, ...) from API parameters."""
    options = {k: params.pop(k) for k in _OPTIONS if k in params}
    return params, options


def _call(method, path, params):
    params, options = _split(dict(params))
    return convert(_http.request(method, path, params, **options))


def _list(path, params):
    api, options = _split(dict(params))

    def fetch(**p):
        page = convert(_http.request("GET", path, p, **options))
        page._fetch = fetch
        page._params = p
        return page

    return fetch(**api)


class APIResource:
    """A REST resource at ``/v1/<path>``."""

    path = ""

    @classmethod
    def _url(cls, id=None, action=None):
        url = f"/v1/{cls.path}"
        if id is not None:
            url += "/" + quote(str(id), safe="")
        if action:
            url += "/" + action
        return url


class Creatable:
    """``POST /v1/<path>``."""

    @classmethod
    def create(cls, **params):
        return _call("POST", cls._url(), params)


class Retrievable:
    """``GET /v1/<path>/{id}``."""

    @classmethod
    def retrieve(cls, id, **params):
        return _call("GET", cls._url(id), params)


class Updatable:
    """``POST /v1/<path>/{id}``: fields left out are unchanged."""

    @classmethod
    def modify(cls, id, **params):
        return _call("POST", cls._url(id), params)

    @classmethod
    def update(cls, id, **params):
        return cls.modify(id, **params)


class Deletable:
    """``DELETE /v1/<path>/{id}``."""

    @classmethod
    def delete(cls, id, **params):
        return _call("DELETE", cls._url(id), params)


class Listable:
    """``GET /v1/<path>``, one page at a time (``auto_paging_iter()`` walks them all)."""

    @classmethod
    def list(cls, **params):
        return _list(cls._url(), params)


def _action(name, doc=None):
    """A ``POST /v1/<path>/{id}/<name>`` class method."""

    def call(cls, id, **params):
        return _call("POST", cls._url(id, name), params)

    call.__name__ = name
    call.__doc__ = doc or f"``POST /v1/<path>/{{id}}/{name}``."
    return classmethod(call)


class PaymentIntent(APIResource, Creatable, Retrievable, Updatable, Listable):
    """Payment intents: ``/v1/payment_intents``."""

    path = "payment_intents"
    confirm = _action("confirm")
    capture = _action("capture")
    cancel = _action("cancel")
    authenticate = _action("authenticate", "Test mode only: completes (or, with outcome=\"fail\", fails) the 3-D Secure step.")


class PaymentMethod(APIResource, Creatable, Retrievable, Listable):
    """Payment methods: ``/v1/payment_methods``."""

    path = "payment_methods"
    attach = _action("attach")
    detach = _action("detach")


class Customer(APIResource, Creatable, Retrievable, Updatable, Deletable, Listable):
    """Customers: ``/v1/customers``."""

    path = "customers"


class Refund(APIResource, Creatable, Retrievable, Listable):
    """Refunds: ``/v1/refunds``."""

    path = "refunds"


class Charge(APIResource, Retrievable, Listable):
    """Charges (read-only): ``/v1/charges``."""

    path = "charges"


class Event(APIResource, Retrievable, Listable):
    """Events: ``/v1/events``."""

    path = "events"


class WebhookEndpoint(APIResource, Creatable, Retrievable, Updatable, Deletable, Listable):
    """Webhook endpoints: ``/v1/webhook_endpoints``."""

    path = "webhook_endpoints"
    roll_secret = _action("roll_secret")


__all__ = ["ListObject", "PaymentIntent", "PaymentMethod", "Customer", "Refund", "Charge", "Event", "WebhookEndpoint"]
