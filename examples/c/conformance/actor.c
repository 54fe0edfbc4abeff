/*
 * The conformance actor in C: every `echo-*` method returns its argument
 * as it came (`wactor-examples:guests/conformance`). An export owns its
 * arguments and the bindings free what it returns, so handing the
 * argument back moves it, with nothing to copy or free.
 */
#include "conformance.h"

bool exports_conformance_echo_bool(bool x) { return x; }
uint8_t exports_conformance_echo_u8(uint8_t x) { return x; }
int8_t exports_conformance_echo_s8(int8_t x) { return x; }
uint16_t exports_conformance_echo_u16(uint16_t x) { return x; }
int16_t exports_conformance_echo_s16(int16_t x) { return x; }
uint32_t exports_conformance_echo_u32(uint32_t x) { return x; }
int32_t exports_conformance_echo_s32(int32_t x) { return x; }
uint64_t exports_conformance_echo_u64(uint64_t x) { return x; }
int64_t exports_conformance_echo_s64(int64_t x) { return x; }
float exports_conformance_echo_f32(float x) { return x; }
double exports_conformance_echo_f64(double x) { return x; }
uint32_t exports_conformance_echo_char(uint32_t x) { return x; }
conformance_color_t exports_conformance_echo_color(conformance_color_t x) { return x; }
conformance_perms_t exports_conformance_echo_perms(conformance_perms_t x) { return x; }

void exports_conformance_echo_string(conformance_string_t *x, conformance_string_t *ret) { *ret = *x; }
void exports_conformance_echo_bytes(conformance_list_u8_t *x, conformance_list_u8_t *ret) { *ret = *x; }
void exports_conformance_echo_strings(conformance_list_string_t *x, conformance_list_string_t *ret) { *ret = *x; }
void exports_conformance_echo_point(conformance_point_t *x, conformance_point_t *ret) { *ret = *x; }
void exports_conformance_echo_shape(conformance_shape_t *x, conformance_shape_t *ret) { *ret = *x; }
void exports_conformance_echo_tuple(conformance_tuple3_u8_string_bool_t *x,
                                    conformance_tuple3_u8_string_bool_t *ret) { *ret = *x; }
void exports_conformance_echo_points(conformance_list_option_point_t *x,
                                     conformance_list_option_point_t *ret) { *ret = *x; }

/* option<option<u32>>: the outer option is a pointer (NULL for none), the
 * inner one is `maybe_x` itself; the result the same way round. */
bool exports_conformance_echo_option(conformance_option_u32_t *maybe_x, conformance_option_u32_t *ret) {
    if (!maybe_x) return false;
    *ret = *maybe_x;
    return true;
}

/* result<string, u32>: returns whether it is `ok`, with the case's payload. */
bool exports_conformance_echo_result(conformance_result_string_u32_t *x, conformance_string_t *ret,
                                     uint32_t *err) {
    if (x->is_err) {
        *err = x->val.err;
        return false;
    }
    *ret = x->val.ok;
    return true;
}

conformance_own_object_ref_t exports_conformance_echo_ref(conformance_own_object_ref_t r) { return r; }

bool exports_conformance_ref_value(conformance_own_object_ref_t r, conformance_string_t *ret,
                                   conformance_error_t *err) {
    bool ok = wactor_runtime_types_method_object_ref_get_blocking(
        wactor_runtime_types_borrow_object_ref(r), NULL, ret, err);
    wactor_runtime_types_object_ref_drop_own(r);
    return ok;
}

conformance_own_object_ref_t exports_conformance_put_value(conformance_string_t *value) {
    conformance_own_object_ref_t r = wactor_runtime_actors_put(value);
    conformance_string_free(value);
    return r;
}
