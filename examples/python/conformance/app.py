"""The conformance actor in Python: every `echo-*` method returns its
argument as it came (see `examples/wit/guests.wit`); built with
componentize-py against the world `wactor-examples:guests/conformance`."""

import wit_world
from wit_world.imports import actors
from componentize_py_types import Err


def _same(x):
    return x


class WitWorld(wit_world.WitWorld):
    echo_bool = staticmethod(_same)
    echo_u8 = staticmethod(_same)
    echo_s8 = staticmethod(_same)
    echo_u16 = staticmethod(_same)
    echo_s16 = staticmethod(_same)
    echo_u32 = staticmethod(_same)
    echo_s32 = staticmethod(_same)
    echo_u64 = staticmethod(_same)
    echo_s64 = staticmethod(_same)
    echo_f32 = staticmethod(_same)
    echo_f64 = staticmethod(_same)
    echo_char = staticmethod(_same)
    echo_string = staticmethod(_same)
    echo_bytes = staticmethod(_same)
    echo_strings = staticmethod(_same)
    echo_point = staticmethod(_same)
    echo_shape = staticmethod(_same)
    echo_color = staticmethod(_same)
    echo_perms = staticmethod(_same)
    echo_option = staticmethod(_same)
    echo_tuple = staticmethod(_same)
    echo_points = staticmethod(_same)
    echo_ref = staticmethod(_same)

    def echo_result(self, x):
        # A `result` argument arrives as `Ok(v)` or `Err(e)`; a method that
        # returns one returns `v` or raises `Err(e)`.
        if isinstance(x, Err):
            raise x
        return x.value

    def ref_value(self, r):
        # `get-blocking` raises `Err(error)`, which becomes this method's
        # `err` as it is.
        return r.get_blocking(None)

    def put_value(self, value):
        return actors.put(value)
