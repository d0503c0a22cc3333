"""API objects: dicts whose keys are also attributes (``intent.status``), and
list pages that can walk every page (``auto_paging_iter``)."""


def convert(value, api_key=None):
    """JSON from the API -> PaymentsObject / ListObject, recursively."""
    if isinstance(value, dict):
        cls = ListObject if value.get("object") == "list" and "data" in value else PaymentsObject
        return cls({k: convert(v, api_key) for k, v in value.items()})
    if isinstance(value, list):
        return [convert(v, api_key) for v in value]
    return value


class PaymentsObject(dict):
    """An API object. Fields are keys and attributes: ``obj["status"] == obj.status``."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def __setattr__(self, name, value):
        # Private names are Python attributes (e.g. a list's page fetcher), not API fields.
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __delattr__(self, name):
        del self[name]

    def __repr__(self):
        ident = f" id={self.get('id')}" if "id" in self else ""
        return f"<{self.get('object', 'object')}{ident} {dict.__repr__(self)}>"


class ListObject(PaymentsObject):
    """One page of a list: ``data``, ``has_more``, ``url``."""

    _fetch = None  # set by the resource that fetched it: fetch(**params) -> ListObject
    _params = None

    def __iter__(self):
        return iter(self.get("data", []))

    def __len__(self):
        return len(self.get("data", []))

    def auto_paging_iter(self):
        """Yields every object of this page and the following ones (newest first)."""
        page = self
        while True:
            for item in page.get("data", []):
                yield item
            if not page.get("has_more") or not page.get("data") or page._fetch is None:
                return
            params = dict(page._params or {})
            params.pop("ending_before", None)
            params["starting_after"] = page["data"][-1]["id"]
            page = page._fetch(**params)
