//! The conformance actor in Rust: every `echo-*` method returns its
//! argument as it came (see `examples/wit/guests.wit`). The same world is
//! implemented in every guest language, and `tests/all/conformance.rs`
//! runs `tests/conformance/values.txt` through each.

wactor_guest::actor!("wactor-examples:guests/conformance", "../../wit");

struct Conformance;

impl Guest for Conformance {
    fn echo_bool(x: bool) -> bool {
        x
    }
    fn echo_u8(x: u8) -> u8 {
        x
    }
    fn echo_s8(x: i8) -> i8 {
        x
    }
    fn echo_u16(x: u16) -> u16 {
        x
    }
    fn echo_s16(x: i16) -> i16 {
        x
    }
    fn echo_u32(x: u32) -> u32 {
        x
    }
    fn echo_s32(x: i32) -> i32 {
        x
    }
    fn echo_u64(x: u64) -> u64 {
        x
    }
    fn echo_s64(x: i64) -> i64 {
        x
    }
    fn echo_f32(x: f32) -> f32 {
        x
    }
    fn echo_f64(x: f64) -> f64 {
        x
    }
    fn echo_char(x: char) -> char {
        x
    }
    fn echo_string(x: String) -> String {
        x
    }
    fn echo_bytes(x: Vec<u8>) -> Vec<u8> {
        x
    }
    fn echo_strings(x: Vec<String>) -> Vec<String> {
        x
    }
    fn echo_point(x: Point) -> Point {
        x
    }
    fn echo_shape(x: Shape) -> Shape {
        x
    }
    fn echo_color(x: Color) -> Color {
        x
    }
    fn echo_perms(x: Perms) -> Perms {
        x
    }
    fn echo_option(x: Option<Option<u32>>) -> Option<Option<u32>> {
        x
    }
    fn echo_result(x: Result<String, u32>) -> Result<String, u32> {
        x
    }
    fn echo_tuple(x: (u8, String, bool)) -> (u8, String, bool) {
        x
    }
    fn echo_points(x: Vec<Option<Point>>) -> Vec<Option<Point>> {
        x
    }
    fn echo_ref(r: ObjectRef) -> ObjectRef {
        r
    }
    fn ref_value(r: ObjectRef) -> Result<String, Error> {
        r.get_blocking(None)
    }
    fn put_value(value: String) -> ObjectRef {
        wactor_guest::actors::put(&value)
    }
}

export!(Conformance);
