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


class PaymentIntent(APIResource):
    """Payment intents: ``/v1/payment_intents``."""

    path = "payment_intents"

    @classmethod
    def create(cls, **params):
        return _call("POST", cls._url(), params)

    @classmethod
    def retrieve(cls, id, **params):
        return _call("GET", cls._url(id), params)

    @classmethod
    def modify(cls, id, **params):
        return _call("POST", cls._url(id), params)

    update = modify

    @classmethod
    def confirm(cls, id, **params):
        return _call("POST", cls._url(id, "confirm"), params)

    @classmethod
    def capture(cls, id, **params):
        return _call("POST", cls._url(id, "capture"), params)

    @classmethod
    def cancel(cls, id, **params):
        return _call("POST", cls._url(id, "cancel"), params)

    @classmethod
    def authenticate(cls, id, **params):
        """Test mode only: completes (or, with outcome="fail", fails) the 3-D Secure step."""
        return _call("POST", cls._url(id, "authenticate"), params)

    @classmethod
    def list(cls, **params):
        return _list(cls._url(), params)


class PaymentMethod(APIResource):
    """Payment methods: ``/v1/payment_methods``."""

    path = "payment_methods"

    @classmethod
    def create(cls, **params):
        return _call("POST", cls._url(), params)

    @classmethod
    def retrieve(cls, id, **params):
        return _call("GET", cls._url(id), params)

    @classmethod
    def list(cls, **params):
        return _list(cls._url(), params)

    @classmethod
    def attach(cls, id, **params):
        return _call("POST", cls._url(id, "attach"), params)

    @classmethod
    def detach(cls, id, **params):
        return _call("POST", cls._url(id, "detach"), params)


class Customer(APIResource):
    """Customers: ``/v1/customers``."""

    path = "customers"

    @classmethod
    def create(cls, **params):
        return _call("POST", cls._url(), params)

    @classmethod
    def retrieve(cls, id, **params):
        return _call("GET", cls._url(id), params)

    @classmethod
    def modify(cls, id, **params):
        return _call("POST", cls._url(id), params)

    update = modify

    @classmethod
    def delete(cls, id, **params):
        return _call("DELETE", cls._url(id), params)

    @classmethod
    def list(cls, **params):
        return _list(cls._url(), params)


class Refund(APIResource):
    """Refunds: ``/v1/refunds``."""

    path = "refunds"

    @classmethod
    def create(cls, **params):
        return _call("POST", cls._url(), params)

    @classmethod
    def retrieve(cls, id, **params):
        return _call("GET", cls._url(id), params)

    @classmethod
    def list(cls, **params):
        return _list(cls._url(), params)


class Charge(APIResource):
    """Charges (read-only): ``/v1/charges``."""

    path = "charges"

    @classmethod
    def retrieve(cls, id, **params):
        return _call("GET", cls._url(id), params)

    @classmethod
    def list(cls, **params):
        return _list(cls._url(), params)


class Event(APIResource):
    """Events: ``/v1/events``."""

    path = "events"

    @classmethod
    def retrieve(cls, id, **params):
        return _call("GET", cls._url(id), params)

    @classmethod
    def list(cls, **params):
        return _list(cls._url(), params)


class WebhookEndpoint(APIResource):
    """Webhook endpoints: ``/v1/webhook_endpoints``."""

    path = "webhook_endpoints"

    @classmethod
    def create(cls, **params):
        return _call("POST", cls._url(), params)

    @classmethod
    def retrieve(cls, id, **params):
        return _call("GET", cls._url(id), params)

    @classmethod
    def modify(cls, id, **params):
        return _call("POST", cls._url(id), params)

    update = modify

    @classmethod
    def delete(cls, id, **params):
        return _call("DELETE", cls._url(id), params)

    @classmethod
    def list(cls, **params):
        return _list(cls._url(), params)

    @classmethod
    def roll_secret(cls, id, **params):
        return _call("POST", cls._url(id, "roll_secret"), params)


__all__ = ["ListObject", "PaymentIntent", "PaymentMethod", "Customer", "Refund", "Charge", "Event", "WebhookEndpoint"]
