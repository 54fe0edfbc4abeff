"""An async actor that fetches URLs, in Python, as a wactor guest (built with
componentize-py over wasi:http@0.3.0). Ray's

    @ray.remote
    class Fetcher:
        async def fetch(self, url):
            async with session.get(url) as r:
                return await r.text()
"""

import wit_world
from wit_world.imports import client
from wit_world.imports import wasi_http_types as http
from componentize_py_types import Err, Ok

_in_flight = 0
_peak = 0


def _split(url: str):
    for prefix, scheme in (("http://", http.Scheme_Http()), ("https://", http.Scheme_Https())):
        if url.startswith(prefix):
            rest = url[len(prefix):]
            authority, slash, path = rest.partition("/")
            if not authority:
                break
            return scheme, authority, slash + path if slash else "/"
    raise Err(f"{url}: only http:// and https:// URLs with a host can be fetched")


def _describe(error) -> str:
    if isinstance(error, http.ErrorCode_InternalError) and error.value:
        return error.value
    return type(error).__name__.removeprefix("ErrorCode_")


class WitWorld(wit_world.WitWorld):
    async def fetch(self, url: str) -> str:
        global _in_flight, _peak
        _in_flight += 1
        _peak = max(_peak, _in_flight)
        try:
            scheme, authority, path = _split(url)
            _, trailers = wit_world.result_option_wasi_http_types_fields_wasi_http_types_error_code_future(
                lambda: Ok(None)
            )
            request, _ = http.Request.new(http.Fields(), None, trailers, None)
            request.set_scheme(scheme)
            request.set_authority(authority)
            request.set_path_with_query(path)
            try:
                response = await client.send(request)
            except Err as e:
                raise Err(f"{url}: {_describe(e.value)}")
            status = response.get_status_code()
            _, done = wit_world.result_unit_wasi_http_types_error_code_future(lambda: Ok(None))
            body, _ = http.Response.consume_body(response, done)
            chunks = []
            with body:
                while not body.writer_dropped:
                    chunks.append(await body.read(65536))
            text = b"".join(chunks).decode("utf-8", errors="replace")
            if 200 <= status < 300:
                return text
            raise Err(f"{url}: status {status}: {text}")
        finally:
            _in_flight -= 1

    def peak_in_flight(self) -> int:
        return _peak
