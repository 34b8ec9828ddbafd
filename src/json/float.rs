//! Text ↔ `f64` for the JSON numbers that are not small integers.
//!
//! Both directions are chosen per target: natively Rust's `Display` and `str::parse`, in the
//! wasm JavaScript's `String(n)` and `parseFloat` (through wasm-bindgen in the main module,
//! `float_js.rs`; through raw imports of its loader in the bucketing engine, `float_import.rs`),
//! because core's float formatting and parsing (Grisu, Dragon, Eisel-Lemire and their tables)
//! cost ~35 KB of the module. The variants agree: all parse to the correctly rounded value and
//! all write the shortest digits that read back to the same number. Where they differ is only the
//! notation, JavaScript's exponent form (`1.5e-7`, `1e+21`), which [`push_plain`] rewrites to the
//! plain decimals that `Display` writes, so the bytes on the wire are the same on every target.

use alloc::string::String;

#[cfg(not(target_arch = "wasm32"))]
#[path = "float_rust.rs"]
mod imp;
#[cfg(all(target_arch = "wasm32", not(feature = "c-abi")))]
#[path = "float_js.rs"]
mod imp;
#[cfg(all(target_arch = "wasm32", feature = "c-abi"))]
#[path = "float_import.rs"]
mod imp;

pub(super) use imp::{parse, write_shortest};

/// Appends `text`, a finite number as JavaScript's `Number.prototype.toString` writes it, in
/// plain decimal notation: `1.5e-7` becomes `0.00000015`, `-1e+21` becomes `-1` and 21 zeros.
/// Text without an exponent is copied as it is. Natively only the tests use it.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn push_plain(out: &mut String, text: &str) {
    let Some((mantissa, exponent)) = text.split_once(['e', 'E']) else {
        out.push_str(text);
        return;
    };
    let mantissa = match mantissa.strip_prefix('-') {
        Some(rest) => {
            out.push('-');
            rest
        }
        None => mantissa,
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let (negative, magnitude) = match exponent.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    let magnitude = magnitude.iter().fold(0i64, |n, &d| {
        (n * 10 + i64::from(d.wrapping_sub(b'0'))).min(100_000)
    });
    // Digits before the decimal point, once the exponent is applied.
    let point = int.len() as i64 + if negative { -magnitude } else { magnitude };
    let digits = int.bytes().chain(frac.bytes());
    let count = (int.len() + frac.len()) as i64;
    if point <= 0 {
        out.push_str("0.");
        out.extend(core::iter::repeat_n('0', -point as usize));
        out.extend(digits.map(char::from));
        return;
    }
    for (i, digit) in digits.enumerate() {
        if i as i64 == point {
            out.push('.');
        }
        out.push(char::from(digit));
    }
    out.extend(core::iter::repeat_n('0', (point - count).max(0) as usize));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What JavaScript's `String(n)` writes: plain decimals for exponents in [-7, 21), else
    /// Rust's `{:e}` digits with an explicit `+` on positive exponents.
    fn js_string(n: f64) -> String {
        let exp = format!("{n:e}");
        let (_, e) = exp.split_once('e').unwrap();
        let e: i32 = e.parse().unwrap();
        if (-7..21).contains(&e) {
            n.to_string()
        } else if e >= 0 {
            exp.replace('e', "e+")
        } else {
            exp
        }
    }

    fn plain(text: &str) -> String {
        let mut out = String::new();
        push_plain(&mut out, text);
        out
    }

    #[test]
    fn exponent_forms_become_display_decimals() {
        for n in [
            0.1,
            -0.5,
            1e-7,
            1.5e-7,
            -1.5e-7,
            1e21,
            -1e21,
            1.2345678901234568e20,
            123456789012345680000.0,
            0.1 + 0.2,
            1e300,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            9007199254740993.0,
        ] {
            assert_eq!(plain(&js_string(n)), n.to_string(), "{n:e}");
            assert_eq!(plain(&format!("{n:e}")), n.to_string(), "{n:e}");
        }
        assert_eq!(plain("1.5e-7"), "0.00000015");
        assert_eq!(plain("1e+21"), "1000000000000000000000");
        assert_eq!(plain("-2.5e+0"), "-2.5");
        assert_eq!(plain("12.25"), "12.25");
    }

    proptest! {
        #[test]
        fn any_finite_number_is_written_as_display_does(bits in any::<u64>()) {
            let n = f64::from_bits(bits);
            prop_assume!(n.is_finite());
            prop_assert_eq!(plain(&js_string(n)), n.to_string());
        }
    }
}
