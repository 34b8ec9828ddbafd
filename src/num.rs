//! The few `f64` operations the core needs that `core` does not provide on stable Rust: the
//! shipped wasm links no `std`, whose float methods (`trunc`, `round`, `fract`, `powi`) call
//! libm. Every value the module rounds is a time, a count or a money amount, far inside the
//! range where an `i64` holds the integer part exactly; beyond 2^52 every `f64` is an integer
//! already and is returned as it is.

/// 2^52: from here on, every `f64` is an integer.
const INTEGRAL_FROM: f64 = 4_503_599_627_370_496.0;

/// `x` without its fractional part (toward zero); NaN and infinities unchanged.
pub fn trunc(x: f64) -> f64 {
    if x.abs() < INTEGRAL_FROM {
        (x as i64) as f64
    } else {
        x
    }
}

/// The fractional part of `x`, with the sign of `x`, as `f64::fract`.
pub fn fract(x: f64) -> f64 {
    x - trunc(x)
}

/// `x` rounded to the nearest integer, halves away from zero, as `f64::round`.
pub fn round(x: f64) -> f64 {
    let whole = trunc(x);
    let rest = x - whole;
    if rest >= 0.5 {
        whole + 1.0
    } else if rest <= -0.5 {
        whole - 1.0
    } else {
        whole
    }
}

/// `x` rounded up, as `f64::ceil`.
pub fn ceil(x: f64) -> f64 {
    let whole = trunc(x);
    if x > whole {
        whole + 1.0
    } else {
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edges_match_std() {
        for x in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            0.49999999999999994,
            1e300,
            -1e300,
            4_503_599_627_370_495.5,
            9_007_199_254_740_993.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(trunc(x), x.trunc(), "trunc {x}");
            assert_eq!(round(x), x.round(), "round {x}");
            assert_eq!(ceil(x), x.ceil(), "ceil {x}");
            assert!(
                fract(x).to_bits() == x.fract().to_bits() || fract(x) == x.fract(),
                "fract {x}"
            );
        }
        assert!(trunc(f64::NAN).is_nan() && round(f64::NAN).is_nan());
    }

    proptest! {
        #[test]
        fn agrees_with_std(x in any::<f64>()) {
            prop_assume!(x.is_finite());
            prop_assert_eq!(trunc(x), x.trunc());
            prop_assert_eq!(round(x), x.round());
            prop_assert_eq!(ceil(x), x.ceil());
            prop_assert_eq!(fract(x), x.fract());
        }
    }
}
