//! The number texts every wasm path for JSON numbers must agree on with Rust's native
//! `Display` and parser: the main module's (js-sys, `tests/web_core.rs`) and the bucketing
//! engine's (raw imports, `tests/web_bucketing_engine.rs`).

/// Finite numbers and the text `Display` writes for each: plain decimals, never an exponent.
/// `5e-324` belongs here too; its 326-character text is built by [`smallest_subnormal_text`].
pub const WRITTEN: &[(f64, &str)] = &[
    (0.0, "0"),
    (-0.0, "0"),
    (42.0, "42"),
    (-7.0, "-7"),
    (3.5, "3.5"),
    (0.1, "0.1"),
    (0.1 + 0.2, "0.30000000000000004"),
    (-2.5e-3, "-0.0025"),
    (1.5e-7, "0.00000015"),
    (-1.5e-7, "-0.00000015"),
    (1e-7, "0.0000001"),
    (9007199254740991.0, "9007199254740991"),
    (9007199254740992.0, "9007199254740992"),
    (123456789012345680000.0, "123456789012345680000"),
    (1e21, "1000000000000000000000"),
    (-1.2345e22, "-12345000000000000000000"),
];

/// What `Display` writes for `5e-324`.
pub fn smallest_subnormal_text() -> String {
    format!("0.{}5", "0".repeat(323))
}

/// Texts and the number the native parser reads from each.
pub const PARSED: &[(&str, f64)] = &[
    ("0", 0.0),
    ("-0", -0.0),
    ("1e21", 1e21),
    ("1.5e-7", 1.5e-7),
    ("0.30000000000000004", 0.1 + 0.2),
    ("123456789012345680000", 123456789012345680000.0),
    ("9007199254740993", 9007199254740992.0),
    ("2.2250738585072014E-308", 2.2250738585072014e-308),
    ("-12.5e+2", -1250.0),
];

/// Texts both parsers refuse: not JSON numbers.
pub const REFUSED: &[&str] = &["01", "1.", ".5", "+1", "1e"];

/// JSON numbers out of range (`JSON.parse` gives ±Infinity): both parsers read `null`, what
/// `JSON.stringify` writes for them (issue 22: one such number no longer refuses the document).
pub const OUT_OF_RANGE: &[&str] = &["1e400", "-1e400", "1e999999999999", "-0.5e309"];
